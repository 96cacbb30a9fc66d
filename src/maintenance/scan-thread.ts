// verify's walk of the record folders and its secret scan on a second core. Both need nothing
// of what the rest of verify reads: the walk is one lstat a file (the kernel's time, mostly),
// the scan reads only index.db's rows. So a worker thread walks the folders (walk.ts), then,
// with a read-only connection of its own, scans the rows no writer marked as scanned (all of
// them for --deep), while the main thread reads the git index, checks index.db, reads its rows
// and HEAD, and compares; the main thread then keeps the matches that HEAD still holds and no
// trailer allows (judgeMatches). For --deep the thread then runs index.db's integrity_check
// and, once the main thread has read HEAD and sent it, reads and hashes every object HEAD
// reaches (deep-objects.ts): the two costs of --deep that need neither the rows nor the files.
//
// The thread reads without a lock, like everything verify reads, and starts before the main
// thread reads HEAD: a record committed meanwhile may be missing from the walk, a finding the
// second look (inline, in order) does not confirm; and its row may be missed by the scan (its
// writer scanned it before storing it). A small store is walked and scanned inline: starting
// the thread costs more than it saves below about 6,000 records (8 MB of index.db and its
// WAL). Without the thread's file (the sources run by vitest, a bundle without it) or when the
// thread fails, the same work runs inline; its answers never differ, only where they are
// computed.

import fs from 'node:fs';
import { trace } from '../util/faults.js';
import { barFromEnv, workerFile } from '../util/worker-file.js';
import type { OnProgress } from '../util/progress.js';
import type { Finding } from './findings.js';
import type { HistoryMatch } from './secrets-in-history.js';
import type { PackedWalk } from './walk.js';

/** What the thread is asked to look at. */
export interface ScanRequest {
  readonly dbFile: string;
  /** Scan every row, marked or not. */
  readonly deep: boolean;
  /** The store, whose record folders the thread walks (walk.ts). */
  readonly dir: string;
  /**
   * --deep: who runs integrity_check, the thread or the main thread (INTEGRITY_*), taken by
   * whichever comes to it first (an Int32Array over it, with Atomics).
   */
  readonly integrityBy: SharedArrayBuffer;
}

/** integrityBy: nobody has taken integrity_check yet, the thread has, the main thread has. */
const INTEGRITY_FREE = 0;
export const INTEGRITY_THREAD = 1;
const INTEGRITY_MAIN = 2;

/**
 * Take integrity_check for `by`, if nobody has: whether `by` now runs it. Tests choose who
 * does with LESSONS_TEST_INTEGRITY_BY ('thread' or 'main'): the other side then never takes it.
 */
export function takeIntegrity(integrityBy: SharedArrayBuffer, by: number): boolean {
  const forced = process.env['LESSONS_TEST_INTEGRITY_BY'];
  if (forced === 'thread' && by !== INTEGRITY_THREAD) return false;
  if (forced === 'main' && by !== INTEGRITY_MAIN) return false;
  return (
    Atomics.compareExchange(new Int32Array(integrityBy), 0, INTEGRITY_FREE, by) === INTEGRITY_FREE
  );
}

/** Each answer the thread posts, once: the walk, then the matches (or why not). */
export type ScanReply =
  /** null: the main thread walks (the thread has much to scan). */
  | { readonly kind: 'walk'; readonly walk: PackedWalk | null }
  | { readonly kind: 'matches'; readonly matches: HistoryMatch[] }
  /** --deep: integrity_check's first line on the thread's connection ('ok' when sound). */
  | { readonly kind: 'integrity'; readonly verdict: string }
  /** --deep: how far the check of HEAD's objects is, now and then, and its findings. */
  | { readonly kind: 'progress'; readonly done: number; readonly total: number }
  | { readonly kind: 'objects'; readonly findings: Finding[] }
  | { readonly kind: 'failed'; readonly message: string };

/**
 * What the main thread sends for --deep, once it has read HEAD: the objects to check (none
 * when the store has no readable HEAD).
 */
export interface ObjectsRequest {
  readonly head: string | null;
}

/** The thread's answers; each rejects when the thread failed before giving it. */
export interface HistoryScan {
  /** The record folders, walked first; null when the main thread is to walk them. */
  readonly walk: Promise<PackedWalk | null>;
  /** Every event and record whose texts match a rule, HEAD not yet consulted. */
  readonly matches: Promise<HistoryMatch[]>;
  /**
   * --deep: index.db's integrity_check, 'ok' or its first problem; the thread runs it last,
   * unless the main thread took it first (takeIntegrity), when this never settles.
   */
  readonly integrity: Promise<string>;
  /** --deep: take integrity_check for the main thread, if the thread has not begun it. */
  takeIntegrity(): boolean;
  /** --deep: check every object reachable from `head` (if any) on the thread; its findings. */
  objects(head: string | null, onProgress?: OnProgress): Promise<Finding[]>;
  /** Ends the thread, whatever it is doing. */
  stop(): void;
}

/** Bytes of index.db and its WAL from which the thread is worth starting. */
const THREAD_FROM_BYTES = 8 << 20;

function sizeOf(file: string): number {
  return fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}

/**
 * Start the scan of `dbFile` on a thread, or undefined when it is too small to be worth one or
 * there is no thread to run (the caller then does the same work inline).
 */
export function startHistoryScan(asked: Omit<ScanRequest, 'integrityBy'>): HistoryScan | undefined {
  const request: ScanRequest = { ...asked, integrityBy: new SharedArrayBuffer(4) };
  const bar = barFromEnv('LESSONS_TEST_SCAN_THREAD_FROM', THREAD_FROM_BYTES);
  if (sizeOf(request.dbFile) + sizeOf(`${request.dbFile}-wal`) < bar) return undefined;
  const file = workerFile(import.meta.url, 'scan-worker');
  if (file === undefined) return undefined;
  // Loaded here, not at the top: every command's bundle holds this module, few start a thread.
  const { Worker } = process.getBuiltinModule('node:worker_threads');
  const worker = new Worker(file, { workerData: request });
  const walk = answer<PackedWalk | null>();
  const matches = answer<HistoryMatch[]>();
  const integrity = answer<string>();
  const objects = answer<Finding[]>();
  let onObjectsProgress: OnProgress | undefined;
  const fail = (error: Error): void => {
    for (const pending of [walk, matches, integrity, objects]) pending.reject(error);
  };
  trace('scan-thread started');
  worker.on('message', (reply: ScanReply) => {
    if (reply.kind !== 'progress') trace(`scan-thread ${reply.kind}`);
    if (reply.kind === 'walk') walk.resolve(reply.walk);
    else if (reply.kind === 'matches') matches.resolve(reply.matches);
    else if (reply.kind === 'integrity') integrity.resolve(reply.verdict);
    else if (reply.kind === 'progress')
      onObjectsProgress?.(reply.done, reply.total, 'hashing git objects');
    else if (reply.kind === 'objects') objects.resolve(reply.findings);
    else fail(new Error(`the scan thread failed: ${reply.message}`));
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the scan thread exited with code ${code}`)));
  return {
    walk: walk.promise,
    matches: matches.promise,
    integrity: integrity.promise,
    takeIntegrity: () => takeIntegrity(request.integrityBy, INTEGRITY_MAIN),
    objects: (head, onProgress) => {
      onObjectsProgress = onProgress;
      worker.postMessage({ head } satisfies ObjectsRequest);
      return objects.promise;
    },
    stop: () => void worker.terminate(),
  };
}

/** An answer the thread will give once, or never when it fails first. */
function answer<T>(): {
  readonly promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: Error) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Unawaited when the caller stops early or does not ask: not an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
