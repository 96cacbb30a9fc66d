// `lessons reindex`: build a new index.db from HEAD beside the old one, then swap it in. The old
// file stays in place until the new one is complete, fsynced and renamed over it. Runs under
// the writers' lock.

import { IndexNotAFileError } from '../errors/index.js';
import fs from 'node:fs';
import path from 'node:path';
import { Database } from '../db/database.js';
import { readCommit } from '../git/commit.js';
import type { GitRepository } from '../git/repository.js';
import type { StoreLayout } from '../resources/layout.js';
import { fsyncDir, tempPathFor } from '../util/durable.js';
import type { OnProgress } from '../util/progress.js';
import { Quarantine } from '../resources/quarantine.js';
import type { Writer } from '../txn/writer.js';
import { requireStore } from './verify.js';
import { writeIndexFile } from '../resources/index-db.js';
import { fillFromTree, type Unparseable } from '../db/rebuild.js';

export interface ReindexResult {
  readonly rows: number;
  /** Lifecycle events indexed (and folded into their records' rows). */
  readonly events: number;
  readonly unparseable: readonly Unparseable[];
  readonly head: string | null;
}

export const SIDE_FILES = ['-wal', '-shm'] as const;

/** What is wrong with index.db, if anything (quick_check). A missing file counts as sound. */
export function databaseProblem(
  file: string,
): { code: 'SQLITE_CORRUPT' | 'INDEX_NOT_A_FILE'; message: string } | undefined {
  let db: Database | undefined;
  try {
    db = Database.openForRead(file);
    if (db === undefined) return undefined;
    const check = db.db.pragma('quick_check', { simple: true });
    return check === 'ok' ? undefined : { code: 'SQLITE_CORRUPT', message: String(check) };
  } catch (error) {
    return {
      code: error instanceof IndexNotAFileError ? 'INDEX_NOT_A_FILE' : 'SQLITE_CORRUPT',
      message: (error as Error).message.split('\n')[0]!,
    };
  } finally {
    db?.close();
  }
}

/**
 * Under the writers' lock, before a session opens: an index.db that cannot be read (or is not
 * a file) is moved to quarantine with its -wal/-shm, so the session builds a fresh one from
 * HEAD. Returns what was found, or undefined when index.db is sound or missing.
 */
export function moveAsideUnreadableIndex(
  writer: Writer,
  quarantine: Quarantine,
): ReturnType<typeof databaseProblem> {
  const problem = databaseProblem(writer.layout.dbFile);
  if (problem === undefined) return undefined;
  writer.disconnect();
  for (const suffix of ['', ...SIDE_FILES]) {
    const file = `${writer.layout.dbFile}${suffix}`;
    if (fs.existsSync(file)) quarantine.moveIn(file, `${problem.code}: ${problem.message}`);
  }
  return problem;
}

/** `lessons reindex`: rebuild index.db from HEAD, under the writers' lock. */
export function reindexStore(
  writer: Writer,
  options: { onProgress?: OnProgress | undefined } = {},
): Promise<ReindexResult> {
  requireStore(writer.layout.dir);
  return writer.run(
    async (ctx) => {
      writer.disconnect();
      return reindexDatabase(ctx.layout, ctx.repo, options.onProgress);
    },
    {
      beforeSession: () =>
        void moveAsideUnreadableIndex(writer, new Quarantine(writer.layout, writer.now())),
    },
  );
}

/**
 * Rebuild index.db from HEAD. Commit attribution is taken from the old rows where their blob
 * still matches (walking history for 100k records would dominate otherwise).
 */
export async function reindexDatabase(
  layout: StoreLayout,
  repo: GitRepository,
  onProgress?: OnProgress,
): Promise<ReindexResult> {
  const head = repo.head();
  const temp = tempPathFor(layout.dbFile);
  try {
    const built = await writeIndexFile(temp, (database) =>
      head === undefined
        ? Promise.resolve({ rows: 0, events: 0, unparseable: [] })
        : readCommit(repo.objects, head).then(async ({ tree }) => {
            const filled = await fillFromTree(database, repo, head, tree, {
              known: () => knownCommits(layout.dbFile),
              onProgress,
            });
            database.adoptScanMarks(layout.dbFile);
            return filled;
          }),
    );
    // The old WAL must never be replayed onto the new file: move it away first. A reader that
    // opens in between sees the old file without its last frames, a consistent older state.
    for (const suffix of SIDE_FILES) fs.rmSync(`${layout.dbFile}${suffix}`, { force: true });
    fs.renameSync(temp, layout.dbFile);
    fsyncDir(path.dirname(layout.dbFile));
    return { ...built, head: head ?? null };
  } finally {
    for (const suffix of ['', ...SIDE_FILES]) fs.rmSync(`${temp}${suffix}`, { force: true });
  }
}

/**
 * Commits of the rows in the old index.db, by path. reindexStore moved an index that fails
 * quick_check aside before its session (checking again costs seconds at 1M rows); an index
 * that fails to read now adds nothing, and every commit is then found from history.
 */
function knownCommits(file: string): Map<string, { blob: string; commit: string }> {
  const known = new Map<string, { blob: string; commit: string }>();
  let db: Database | undefined;
  try {
    db = Database.openForRead(file);
  } catch {
    return known;
  }
  if (db === undefined) return known;
  try {
    for (const row of db.db
      .prepare('SELECT path, blob_oid, commit_oid FROM records')
      .iterate() as Iterable<{
      path: string;
      blob_oid: string;
      commit_oid: string;
    }>)
      known.set(row.path, { blob: row.blob_oid, commit: row.commit_oid });
    // An index older than the events has no table of them.
    if (db.schemaVersion() >= 3)
      for (const row of db.db
        .prepare('SELECT path, blob_oid, commit_oid FROM events')
        .iterate() as Iterable<{ path: string; blob_oid: string; commit_oid: string }>)
        known.set(row.path, { blob: row.blob_oid, commit: row.commit_oid });
  } catch {
    known.clear();
  } finally {
    db.close();
  }
  return known;
}
