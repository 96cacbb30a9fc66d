// The scan thread's body (see scan-thread.ts): with a read-only connection of its own, check
// index.db (quick_check, or integrity_check for --deep) and answer, then scan the texts of every
// event and record for secrets and answer with the matches. Each answer is posted once.

import { parentPort, workerData } from 'node:worker_threads';
import { Database, type EventRow } from '../db/database.js';
import { scanHistory, textPages } from './secrets-in-history.js';
import type { ScanReply, ScanRequest } from './scan-thread.js';

function post(reply: ScanReply): void {
  parentPort!.postMessage(reply);
}

async function run({ dbFile, deep }: ScanRequest): Promise<void> {
  let database: Database | undefined;
  try {
    database = Database.openForRead(dbFile);
    if (database === undefined) throw new Error(`${dbFile} is gone`);
    const { db } = database;
    post({
      kind: 'check',
      result: String(db.pragma(deep ? 'integrity_check' : 'quick_check', { simple: true })),
    });
    const events = db.prepare('SELECT * FROM events').iterate() as Iterable<EventRow>;
    post({ kind: 'matches', matches: await scanHistory(textPages(db), events) });
  } catch (error) {
    post({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
  } finally {
    database?.close();
  }
}

void run(workerData as ScanRequest);
