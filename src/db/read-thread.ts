// Reading a tree's record files on two cores, for every rebuild of index.db from HEAD
// (rebuild.ts: reindex, a missing index.db, sync). Each file is an open, a read and a close,
// mostly the kernel's time, then a hash and a parse: nothing shared with the rest of the
// rebuild. The files are cut into chunks, and the main thread and a worker thread each take
// the next chunk nobody has taken (an atomic counter in shared memory), so the main thread can
// insert the rows of the chunks read so far between two chunks of its own and the worker reads
// whatever that leaves. The chunks come back in order, whoever read them. Below
// READ_THREAD_FROM files, or without the thread's file (the sources vitest runs), every chunk
// is read here; the answers never differ, only where they are computed.

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

export type FileList = readonly (readonly [path: string, blob: string])[];

/** What the thread is given: the files to read, their chunks and the counter of chunks taken. */
export interface ReadRequest {
  readonly workdir: string;
  readonly files: FileList;
  readonly chunk: number;
  readonly taken: SharedArrayBuffer;
}

export type ReadReply =
  | { readonly kind: 'chunk'; readonly index: number; readonly answers: FileAnswer[] }
  | { readonly kind: 'failed'; readonly message: string };

/** Files from which a thread is worth starting (starting one costs about 50 ms). */
const READ_THREAD_FROM = 4000;

/** Files in a chunk at most: small enough for the two threads to end close together. */
const CHUNK_MAX = 256;

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

/** The answers for chunk `index` of `files`. */
export function readChunk(
  workdir: string,
  files: FileList,
  chunk: number,
  index: number,
): FileAnswer[] {
  const answers: FileAnswer[] = [];
  const end = Math.min(files.length, (index + 1) * chunk);
  for (let i = index * chunk; i < end; i++) {
    const [path, blob] = files[i]!;
    answers.push(readWorkingItem(workdir, path, blob));
  }
  return answers;
}

/** Take the next chunk nobody has taken: its index (at or past the last when none is left). */
export function takeChunk(taken: Int32Array): number {
  return Atomics.add(taken, 0, 1);
}

/** The worker thread reading beside this one, as far as this side knows it. */
interface Helper {
  readonly ready: Map<number, FileAnswer[]>;
  /** Chunks it answered. */
  answered: number;
  /** The thread has stopped (done, failed or exited): it will answer nothing more. */
  gone: boolean;
  /** Resolves when the thread next answers a chunk or stops. */
  next(): Promise<void>;
  stop(): void;
}

function startHelper(request: ReadRequest): Helper | undefined {
  const file = workerFile(import.meta.url, 'read-worker');
  if (file === undefined) return undefined;
  const { Worker } = process.getBuiltinModule('node:worker_threads');
  const worker = new Worker(file, { workerData: request });
  trace('read-thread started');
  let wake: (() => void) | undefined;
  const helper: Helper = {
    ready: new Map(),
    answered: 0,
    gone: false,
    next: () => new Promise<void>((resolve) => (wake = resolve)),
    stop: () => void worker.terminate(),
  };
  const woken = (): void => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  worker.on('message', (reply: ReadReply) => {
    if (reply.kind === 'chunk') {
      helper.ready.set(reply.index, reply.answers);
      helper.answered += 1;
    } else {
      trace(`read-thread failed: ${reply.message}`);
      helper.gone = true;
    }
    woken();
  });
  const stopped = (): void => {
    helper.gone = true;
    woken();
  };
  worker.on('error', stopped);
  worker.on('exit', stopped);
  return helper;
}

/** Let the thread's answers in (they wait for the event loop). */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Read and parse `files` (in `workdir`), a worker thread taking chunks beside this one when
 * there are enough: the answers come a chunk at a time, in the order of `files`. Started when
 * called, so the thread reads while the caller does other work before it iterates. A chunk the
 * thread took and never answered (it failed or exited) is read here.
 */
export function readFiles(workdir: string, files: FileList): AsyncIterable<FileAnswer[]> {
  const chunk = Math.max(1, Math.min(CHUNK_MAX, Math.ceil(files.length / 32)));
  const chunks = Math.ceil(files.length / chunk);
  const taken = new SharedArrayBuffer(4);
  const counter = new Int32Array(taken);
  const threadFirst = process.env['LESSONS_TEST_READ_THREAD_FIRST'] === '1';
  const helper =
    files.length < barFromEnv('LESSONS_TEST_READ_THREAD_FROM', READ_THREAD_FROM)
      ? undefined
      : startHelper({ workdir, files, chunk, taken });
  return {
    async *[Symbol.asyncIterator]() {
      const ready = helper?.ready ?? new Map<number, FileAnswer[]>();
      try {
        if (helper !== undefined && threadFirst)
          while (ready.size === 0 && !helper.gone) await helper.next();
        for (let next = 0; next < chunks; next++) {
          while (!ready.has(next)) {
            const index = takeChunk(counter);
            if (index < chunks) {
              ready.set(index, readChunk(workdir, files, chunk, index));
              if (helper !== undefined) await turn();
            } else if (helper === undefined || helper.gone) {
              ready.set(next, readChunk(workdir, files, chunk, next));
            } else await helper.next();
          }
          const answers = ready.get(next)!;
          ready.delete(next);
          yield answers;
        }
      } finally {
        if (helper !== undefined) {
          trace(`read-thread answered ${helper.answered} of ${chunks} chunks`);
          helper.stop();
        }
      }
    },
  };
}
