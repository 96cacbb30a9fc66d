// verify's secret scan (and index.db's own check) on a second core. Scanning every record's
// texts with secretlint is the largest single cost of verify (about 20 µs a record), and it
// needs nothing of what the rest of verify reads: only index.db's rows. So a worker thread with
// a read-only connection of its own checks the file and scans its rows while the main thread
// walks the record folders, reads the git index and HEAD, and compares; the main thread then
// keeps the matches that HEAD still holds and no trailer allows (judgeMatches).
//
// The thread reads the rows when verify starts, without a lock, like everything verify reads:
// a record committed while verify runs may be missed by this look (its writer scanned it before
// storing it, and the next verify scans it). A small index is scanned inline: starting the
// thread costs more than it saves below about 6,000 records (8 MB of index.db and its WAL).
// Without the thread's file (the sources run by vitest, a bundle without it) or when the thread
// fails, the same work runs inline; its answers never differ, only where they are computed.

import fs from 'node:fs';
import { trace } from '../util/faults.js';
import type { HistoryMatch } from './secrets-in-history.js';

/** What the thread is asked to look at. */
export interface ScanRequest {
  readonly dbFile: string;
  readonly deep: boolean;
}

/** Each answer the thread posts, once: the check's result, then the matches (or why not). */
export type ScanReply =
  | { readonly kind: 'check'; readonly result: string }
  | { readonly kind: 'matches'; readonly matches: HistoryMatch[] }
  | { readonly kind: 'failed'; readonly message: string };

/** The thread's two answers; each rejects when the thread failed before giving it. */
export interface HistoryScan {
  /** `PRAGMA quick_check` (or `integrity_check`) of index.db: 'ok', or what is wrong. */
  readonly check: Promise<string>;
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
  let settleCheck!: { resolve: (r: string) => void; reject: (e: Error) => void };
  let settleMatches!: { resolve: (m: HistoryMatch[]) => void; reject: (e: Error) => void };
  const check = new Promise<string>((resolve, reject) => (settleCheck = { resolve, reject }));
  const matches = new Promise<HistoryMatch[]>(
    (resolve, reject) => (settleMatches = { resolve, reject }),
  );
  // Unawaited when the caller stops early: not an unhandled rejection.
  check.catch(() => undefined);
  matches.catch(() => undefined);
  const fail = (error: Error): void => {
    settleCheck.reject(error);
    settleMatches.reject(error);
  };
  trace('scan-thread started');
  worker.on('message', (reply: ScanReply) => {
    trace(`scan-thread ${reply.kind}`);
    if (reply.kind === 'check') settleCheck.resolve(reply.result);
    else if (reply.kind === 'matches') settleMatches.resolve(reply.matches);
    else fail(new Error(`the scan thread failed: ${reply.message}`));
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the scan thread exited with code ${code}`)));
  return {
    check,
    matches,
    stop: () => void worker.terminate(),
  };
}
