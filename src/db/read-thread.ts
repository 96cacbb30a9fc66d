// Reading a tree's record files on a second core, for every rebuild of index.db from HEAD
// (rebuild.ts: reindex, a missing index.db, sync). Each file is an open, a read and a close,
// mostly the kernel's time, then a hash and a parse: nothing shared with the rest of the
// rebuild, so a worker thread reads the second half of the paths while the main thread reads
// the first, and the answers are put back in the tree's order. Below READ_THREAD_FROM files,
// or without the thread's file (the sources vitest runs), every file is read inline; the
// answers never differ, only where they are computed.

import { hashObject } from '../git/hash.js';
import { parseItem } from '../record/stored.js';
import type { StoredItem } from '../record/types.js';
import { readSmallFile } from '../util/durable.js';
import { trace } from '../util/faults.js';
import { barFromEnv, workerFile } from '../util/worker-file.js';

/** What reading one committed file gave. */
export type FileAnswer =
  | { readonly item: StoredItem }
  /** The file holds the committed blob, which does not parse. */
  | { readonly reason: string }
  /** The working file is missing or is not the committed blob: git holds the bytes. */
  | { readonly fromGit: true };

/** What the thread is given: the store's folder and the files (path, blob id) to read. */
export interface ReadRequest {
  readonly workdir: string;
  readonly files: readonly (readonly [path: string, blob: string])[];
}

export type ReadReply =
  | { readonly kind: 'answers'; readonly answers: FileAnswer[] }
  | { readonly kind: 'failed'; readonly message: string };

/** Files from which a thread is worth starting (starting one costs about 50 ms). */
const READ_THREAD_FROM = 4000;

const FROM_GIT: FileAnswer = { fromGit: true };

/**
 * The committed record or event at `relative`, read from the working file when it hashes to
 * `blob` (reading a small file is much cheaper than finding an object in a pack).
 */
export function readWorkingItem(workdir: string, relative: string, blob: string): FileAnswer {
  let bytes: Buffer;
  try {
    bytes = readSmallFile(`${workdir}/${relative}`);
  } catch {
    return FROM_GIT;
  }
  if (hashObject('blob', bytes) !== blob) return FROM_GIT;
  try {
    return { item: parseItem(relative, bytes) };
  } catch (error) {
    return { reason: (error as Error).message };
  }
}

/**
 * Start reading `files` on a thread; undefined when there are too few to be worth one or there
 * is no thread to run. The answers come in the order of `files`; the promise rejects when the
 * thread fails (the caller then reads them inline).
 */
export function readOnThread(
  request: ReadRequest,
  total: number,
): Promise<FileAnswer[]> | undefined {
  if (total < barFromEnv('LESSONS_TEST_READ_THREAD_FROM', READ_THREAD_FROM)) return undefined;
  const file = workerFile(import.meta.url, 'read-worker');
  if (file === undefined) return undefined;
  const { Worker } = process.getBuiltinModule('node:worker_threads');
  const worker = new Worker(file, { workerData: request });
  trace('read-thread started');
  const answers = new Promise<FileAnswer[]>((resolve, reject) => {
    worker.on('message', (reply: ReadReply) => {
      trace(`read-thread ${reply.kind}`);
      if (reply.kind === 'answers') resolve(reply.answers);
      else reject(new Error(`the read thread failed: ${reply.message}`));
    });
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`the read thread exited with code ${code}`)));
  });
  // Unawaited should the caller fail first: not an unhandled rejection.
  answers.catch(() => undefined);
  return answers;
}
