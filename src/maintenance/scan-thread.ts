// verify's walk of the record folders and its secret scan on a second core. Both need nothing
// of what the rest of verify reads: the walk is one lstat a file (the kernel's time, mostly),
// the scan reads only index.db's rows. So a worker thread walks the folders (walk.ts), then,
// with a read-only connection of its own, scans the rows no writer marked as scanned (all of
// them for --deep), while the main thread reads the git index, checks index.db, reads its rows
// and HEAD, and compares; the main thread then keeps the matches that HEAD still holds and no
// trailer allows (judgeMatches).
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
import type { HistoryMatch } from './secrets-in-history.js';
import type { PackedWalk } from './walk.js';

/** What the thread is asked to look at. */
export interface ScanRequest {
  readonly dbFile: string;
  /** Scan every row, marked or not. */
  readonly deep: boolean;
  /** The store, whose record folders the thread walks (walk.ts). */
  readonly dir: string;
}

/** Each answer the thread posts, once: the walk, then the matches (or why not). */
export type ScanReply =
  /** null: the main thread walks (the thread has much to scan). */
  | { readonly kind: 'walk'; readonly walk: PackedWalk | null }
  | { readonly kind: 'matches'; readonly matches: HistoryMatch[] }
  | { readonly kind: 'failed'; readonly message: string };

/** The thread's answers; each rejects when the thread failed before giving it. */
export interface HistoryScan {
  /** The record folders, walked first; null when the main thread is to walk them. */
  readonly walk: Promise<PackedWalk | null>;
  /** Every event and record whose texts match a rule, HEAD not yet consulted. */
  readonly matches: Promise<HistoryMatch[]>;
  /** Ends the thread, whatever it is doing. */
  stop(): void;
}

/** Bytes of index.db and its WAL from which the thread is worth starting. */
const THREAD_FROM_BYTES = 8 << 20;

function threadFrom(): number {
  const forced = process.env.LESSONS_TEST_SCAN_THREAD_FROM;
  return forced === undefined || forced === '' ? THREAD_FROM_BYTES : Number(forced);
}

/** The thread's file beside this module, built or bundled; undefined when there is none. */
function workerFile(): URL | undefined {
  const here = import.meta.url;
  const name = here.endsWith('.cjs')
    ? 'scan-worker.cjs'
    : here.endsWith('.js')
      ? 'scan-worker.js'
      : undefined;
  if (name === undefined) return undefined;
  const file = new URL(`./${name}`, here);
  return fs.existsSync(file) ? file : undefined;
}

function sizeOf(file: string): number {
  return fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}

/**
 * Start the scan of `dbFile` on a thread, or undefined when it is too small to be worth one or
 * there is no thread to run (the caller then does the same work inline).
 */
export function startHistoryScan(request: ScanRequest): HistoryScan | undefined {
  if (sizeOf(request.dbFile) + sizeOf(`${request.dbFile}-wal`) < threadFrom()) return undefined;
  const file = workerFile();
  if (file === undefined) return undefined;
  // Loaded here, not at the top: every command's bundle holds this module, few start a thread.
  const { Worker } = process.getBuiltinModule('node:worker_threads');
  const worker = new Worker(file, { workerData: request });
  let settleMatches!: { resolve: (m: HistoryMatch[]) => void; reject: (e: Error) => void };
  let settleWalk!: { resolve: (w: PackedWalk | null) => void; reject: (e: Error) => void };
  const walk = new Promise<PackedWalk | null>(
    (resolve, reject) => (settleWalk = { resolve, reject }),
  );
  const matches = new Promise<HistoryMatch[]>(
    (resolve, reject) => (settleMatches = { resolve, reject }),
  );
  // Unawaited when the caller stops early: not an unhandled rejection.
  walk.catch(() => undefined);
  matches.catch(() => undefined);
  const fail = (error: Error): void => {
    settleWalk.reject(error);
    settleMatches.reject(error);
  };
  trace('scan-thread started');
  worker.on('message', (reply: ScanReply) => {
    trace(`scan-thread ${reply.kind}`);
    if (reply.kind === 'walk') settleWalk.resolve(reply.walk);
    else if (reply.kind === 'matches') settleMatches.resolve(reply.matches);
    else fail(new Error(`the scan thread failed: ${reply.message}`));
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the scan thread exited with code ${code}`)));
  return {
    walk,
    matches,
    stop: () => void worker.terminate(),
  };
}
