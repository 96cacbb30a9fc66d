// Rows brought to a new HEAD for the paths that changed, not rebuilt: what sync needs so that
// integrating a thousand fetched records costs a thousand rows, whatever the store's size.
//
// This is the one hook through which integrated paths reach the index: record files become
// rows, lifecycle events (events/YYYY/MM/<ulid>-<verb>.md) event rows, and every record whose
// file or events changed is folded again over all of its events (db/refold.ts).

import type { Database } from './database.js';
import { rowFromRecord } from './database.js';
import type { GitRepository } from '../git/repository.js';
import { eventRow } from './database.js';
import { refold } from './refold.js';
import { isEventPath, parseEvent } from '../record/event.js';
import { parseRecord } from '../record/markdown.js';
import { isRecordPath } from '../record/paths.js';
import type { LessonRecord } from '../record/types.js';

/** One path whose blob changed between two commits. */
export interface ChangedPath {
  readonly path: string;
  /** The blob at the path afterwards, or null when the path is gone. */
  readonly after: string | null;
  /** The commit that brought the blob (the row's commit_oid). */
  readonly commit: string;
}

export interface AppliedPaths {
  /** Rows inserted or rewritten. */
  readonly upserted: number;
  /** Rows deleted. */
  readonly deleted: number;
  /** Record files that do not parse: no row; verify reports them. */
  readonly unparseable: readonly { readonly path: string; readonly reason: string }[];
}

/**
 * Make the rows of `changes` match their new blobs: a row for each record file present (its
 * rowid kept when the path had one), none for each path gone; rows already matching are left
 * alone, so this is idempotent (recovery runs it again after a crash). Runs inside the
 * caller's SQLite transaction. Paths outside the record folders have no rows.
 */
export async function applyChangedPaths(
  db: Database,
  repo: GitRepository,
  changes: readonly ChangedPath[],
  txid: string,
  /** Blob contents already at hand (read in one batch); others are read from the repository. */
  blobs?: ReadonlyMap<string, Buffer>,
): Promise<AppliedPaths> {
  let upserted = 0;
  let deleted = 0;
  const unparseable: { path: string; reason: string }[] = [];
  // Records whose own file or events changed: folded again once every path is applied.
  const refolds = new Map<string, LessonRecord | undefined>();
  const read = async (oid: string): Promise<Buffer> =>
    blobs?.get(oid) ?? (await repo.objects.readTyped(oid, 'blob'));
  for (const change of changes) {
    if (!isRecordPath(change.path)) continue;
    if (isEventPath(change.path)) {
      const before = db.eventByPath(change.path);
      if (before?.blob_oid === change.after) continue;
      if (before !== undefined) {
        if (!refolds.has(before.target)) refolds.set(before.target, undefined);
        deleted += db.deleteEventByPath(change.path);
      }
      if (change.after === null) continue;
      let event;
      try {
        event = parseEvent(await read(change.after));
      } catch (error) {
        unparseable.push({ path: change.path, reason: (error as Error).message });
        continue;
      }
      db.insertEvent(eventRow(event, change.path, change.after, txid, change.commit));
      if (!refolds.has(event.target)) refolds.set(event.target, undefined);
      upserted++;
      continue;
    }
    if (change.after === null) {
      deleted += db.deleteByPath(change.path);
      continue;
    }
    if (db.rowByPath(change.path)?.blob_oid === change.after) continue;
    let record;
    try {
      record = parseRecord(await read(change.after));
    } catch (error) {
      deleted += db.deleteByPath(change.path);
      unparseable.push({ path: change.path, reason: (error as Error).message });
      continue;
    }
    db.replace(rowFromRecord(record, change.path, change.after, txid, change.commit));
    refolds.set(record.id, record);
    upserted++;
  }
  // An event whose target is not (yet) a record here keeps its row; verify names it
  // (EVENT_TARGET_MISSING) and the sync that brings the record folds it.
  for (const [target, record] of refolds)
    if (db.rowById(target) !== undefined) await refold(db, repo, target, record);
  return { upserted, deleted, unparseable };
}
