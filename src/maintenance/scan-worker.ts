// The scan thread's body (see scan-thread.ts): with a read-only connection of its own, walk the
// store's record folders (or leave them to the main thread) and answer, then scan the texts of
// every event and of every record no writer marked as scanned for secrets, and answer with the
// matches. Each answer is posted once.

import { parentPort, workerData } from 'node:worker_threads';
import { Database, type EventRow } from '../db/database.js';
import { scanHistory, textPages, trustedMarks, unmarkedShare } from './secrets-in-history.js';
import type { ScanReply, ScanRequest } from './scan-thread.js';
import { packedWalk } from './walk.js';

function post(reply: ScanReply, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(reply, transfer);
}

/**
 * The thread walks the folders when a quarter or less of the records are left to scan (the
 * store's writers scanned the rest); with more (an index that reindex wrote, --deep) the main
 * thread walks, and each side keeps one of verify's two largest costs.
 */
const WALK_WHEN_UNSCANNED_AT_MOST = 0.25;

async function run({ dbFile, deep, dir }: ScanRequest): Promise<void> {
  let database: Database | undefined;
  try {
    database = Database.openForRead(dbFile);
    if (database === undefined) throw new Error(`${dbFile} is gone`);
    const { db } = database;
    if (!deep && unmarkedShare(db) <= WALK_WHEN_UNSCANNED_AT_MOST) {
      const walk = packedWalk(dir);
      post(
        { kind: 'walk', walk },
        [walk.kinds, walk.mtimes, walk.stats].map((a) => a.buffer as ArrayBuffer),
      );
    } else post({ kind: 'walk', walk: null });
    const marks = await trustedMarks(db, deep);
    const events = db.prepare('SELECT * FROM events').iterate() as Iterable<EventRow>;
    post({ kind: 'matches', matches: await scanHistory(textPages(db, marks), events) });
  } catch (error) {
    post({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
  } finally {
    database?.close();
  }
}

void run(workerData as ScanRequest);
