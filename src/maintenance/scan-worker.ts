// The scan thread's body (see scan-thread.ts): with a read-only connection of its own, walk the
// store's record folders (or leave them to the main thread) and answer, then scan the texts of
// every event and of every record no writer marked as scanned for secrets, and answer with the
// matches; for --deep, then answer with the check of every object HEAD reaches, once the main
// thread has sent HEAD, and with index.db's integrity_check, unless the main thread took it.
// Each answer is posted once.

import { parentPort, workerData } from 'node:worker_threads';
import { Database, type EventRow } from '../db/database.js';
import { GitRepository } from '../git/repository.js';
import { deepObjects } from './deep-objects.js';
import { scanHistory, textPages, trustedMarks, unmarkedShare } from './secrets-in-history.js';
import {
  INTEGRITY_THREAD,
  takeIntegrity,
  type ObjectsRequest,
  type ScanReply,
  type ScanRequest,
} from './scan-thread.js';
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

/** Progress of the objects' check, posted at most every 100 ms (and at the end). */
function progressPoster(): (done: number, total: number) => void {
  let last = 0;
  return (done, total) => {
    const now = performance.now();
    if (done < total && now - last < 100) return;
    last = now;
    post({ kind: 'progress', done, total });
  };
}

async function run({ dbFile, deep, dir, integrityBy }: ScanRequest): Promise<void> {
  // Listening from the start: HEAD may be sent while the scan runs.
  const head = deep
    ? new Promise<string | null>((resolve) =>
        parentPort!.once('message', (request: ObjectsRequest) => resolve(request.head)),
      )
    : undefined;
  let database: Database | undefined;
  try {
    database = Database.openForRead(dbFile);
    if (database === undefined) throw new Error(`${dbFile} is gone`);
    const { db } = database;
    const marks = await trustedMarks(db, deep);
    if (!deep && unmarkedShare(db, marks) <= WALK_WHEN_UNSCANNED_AT_MOST) {
      const walk = packedWalk(dir);
      post(
        { kind: 'walk', walk },
        [walk.kinds, walk.mtimes, walk.stats].map((a) => a.buffer as ArrayBuffer),
      );
    } else post({ kind: 'walk', walk: null });
    const events = db.prepare('SELECT * FROM events').iterate() as Iterable<EventRow>;
    post({ kind: 'matches', matches: await scanHistory(textPages(db, marks), events) });
    if (head !== undefined) {
      const from = await head;
      const findings =
        from === null ? [] : await deepObjects(new GitRepository(dir), from, progressPoster());
      post({ kind: 'objects', findings });
      if (takeIntegrity(integrityBy, INTEGRITY_THREAD))
        post({
          kind: 'integrity',
          verdict: String(db.pragma('integrity_check', { simple: true })),
        });
    }
  } catch (error) {
    post({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
  } finally {
    database?.close();
  }
}

void run(workerData as ScanRequest);
