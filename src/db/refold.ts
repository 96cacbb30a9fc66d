// Keeping a record's row equal to the fold of its events: after events are added or removed,
// the target's folded columns are computed again from its committed file and every event
// row it has (record/fold.ts). Runs inside the caller's SQLite transaction.

import { StoreError } from '../errors/index.js';
import type { GitRepository } from '../git/repository.js';
import { foldRecord } from '../record/fold.js';
import { parseRecord } from '../record/markdown.js';
import type { LessonRecord } from '../record/types.js';
import type { Database } from './database.js';

/**
 * Fold the events of `target` over its record, `base` when the caller has it (a record of the
 * same transaction, not yet in git), else its committed blob. A target without a row is a
 * StoreError (EVENT_TARGET_MISSING): the transaction that wrote the event is undone.
 */
export async function refold(
  db: Database,
  repo: GitRepository,
  target: string,
  base?: LessonRecord,
): Promise<void> {
  const row = db.rowById(target);
  if (row === undefined)
    throw new StoreError(
      'EVENT_TARGET_MISSING',
      `no record ${target} in the index for a lifecycle event to change. Run \`lessons verify\`.`,
    );
  const record = base ?? parseRecord(await repo.objects.readTyped(row.blob_oid, 'blob'));
  db.applyFold(target, foldRecord(record, db.eventsFor(target)));
}
