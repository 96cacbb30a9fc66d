// Rows brought to a new HEAD for the paths that changed, not rebuilt: what sync needs so that
// integrating a thousand fetched records costs a thousand rows, whatever the store's size.
//
// This is the one hook through which integrated paths reach the index. Today it indexes
// record files; lifecycle events (events/YYYY/MM/<ulid>-<verb>.md) are files like records,
// and their fold belongs here too: an event path that changed re-folds its target's row.

import type { Database } from './database.js';
import { rowFromRecord } from './database.js';
import type { GitRepository } from '../git/repository.js';
import { parseRecord } from '../record/markdown.js';
import { isRecordPath } from '../record/paths.js';

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
  for (const change of changes) {
    if (!isRecordPath(change.path)) continue;
    if (change.after === null) {
      deleted += db.deleteByPath(change.path);
      continue;
    }
    if (db.rowByPath(change.path)?.blob_oid === change.after) continue;
    let record;
    try {
      record = parseRecord(
        blobs?.get(change.after) ?? (await repo.objects.readTyped(change.after, 'blob')),
      );
    } catch (error) {
      deleted += db.deleteByPath(change.path);
      unparseable.push({ path: change.path, reason: (error as Error).message });
      continue;
    }
    db.replace(rowFromRecord(record, change.path, change.after, txid, change.commit));
    upserted++;
  }
  return { upserted, deleted, unparseable };
}
