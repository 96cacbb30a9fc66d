// index.db is derived from HEAD and ignored by git, so a fresh `git clone` of a store has none.
// A missing index is not a finding: every command that finds it missing builds it from HEAD
// first. Writers do it under the writers' lock; readers and verify never take that lock, so they
// build a complete file beside it and install it with link(2), which creates index.db only if
// it is still absent: a reader never replaces a file a writer has opened. A store that cannot be
// written (a read-only mount) is read through a private copy of its index, or an index built in
// memory, and nothing is written in it.

import { SqliteCorruptError } from '../errors/index.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Database } from '../db/database.js';
import { readCommit } from '../git/commit.js';
import { GitRepository } from '../git/repository.js';
import type { StoreLayout } from './layout.js';
import { errnoCode, fsyncDir, rmQuiet, tempPathFor } from '../util/durable.js';
import type { OnProgress } from '../util/progress.js';
import { fillFromTree } from '../db/rebuild.js';

/** Where the index a reader got came from. */
export type IndexOrigin =
  /** index.db itself, opened read-only. */
  | 'file'
  /** index.db was missing; this command built it from HEAD and installed it. */
  | 'built'
  /** The store is read-only: a private copy of its index.db, in a temporary folder. */
  | 'copy'
  /** index.db was missing and the store is read-only (or the file could not be installed): built from HEAD, private to this command. */
  | 'memory';

export interface ReadableIndex {
  /** undefined only when the store has no commit yet (nothing to index). */
  readonly database: Database | undefined;
  readonly origin: IndexOrigin;
  /** The store folder cannot be written (read-only mount, no permission). */
  readonly readOnly: boolean;
  /** Close the database and remove any private copy. */
  close(): void;
}

/** Can this process create files in the store folder? (EROFS on a read-only mount.) */
export function storeWritable(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Fill `database` (new, empty) with every record and event at `head` (fillFromTree). Returns
 * false, and leaves it empty, when the store has no commit yet.
 */
async function fillAtHead(
  database: Database,
  repo: GitRepository,
  head: string | undefined,
  onProgress?: OnProgress,
): Promise<boolean> {
  if (head === undefined) return false;
  const { tree } = await readCommit(repo.objects, head);
  await fillFromTree(database, repo, head, tree, { onProgress });
  return true;
}

/**
 * Write a complete index at `file` (a new path), filled by `build`: then the WAL folded in,
 * the file in rollback-journal mode so it is one self-contained file, fsynced.
 */
export async function writeIndexFile<T>(
  file: string,
  build: (database: Database) => Promise<T>,
): Promise<T> {
  const { database } = Database.openForWrite(file);
  let built: T;
  try {
    built = await build(database);
    database.db.pragma('wal_checkpoint(TRUNCATE)');
    database.db.pragma('journal_mode = DELETE');
  } finally {
    database.close();
  }
  const fd = fs.openSync(file, 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return built;
}

function removeWithSideFiles(file: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmQuiet(`${file}${suffix}`);
}

/**
 * Install the complete index at `temp` as index.db if there is still none (link(2) fails with
 * EEXIST otherwise: someone else built it first, which is as good). The temp name is removed.
 * Returns false when the file system cannot link, leaving `temp` in place.
 */
function installIfAbsent(temp: string, target: string): boolean {
  try {
    fs.linkSync(temp, target);
    fsyncDir(path.dirname(target));
  } catch (error) {
    const code = errnoCode(error);
    if (code !== 'EEXIST') return false;
  }
  removeWithSideFiles(temp);
  return true;
}

/**
 * Writers, holding the writers' lock: make sure index.db exists, building it from HEAD when it
 * is missing. Returns true when it was built.
 */
export async function ensureIndexDb(layout: StoreLayout, repo: GitRepository): Promise<boolean> {
  if (fs.existsSync(layout.dbFile)) return false;
  const head = repo.readableHead();
  if (head === undefined) return false;
  const temp = tempPathFor(layout.dbFile);
  try {
    await writeIndexFile(temp, (database) => fillAtHead(database, repo, head));
    if (!installIfAbsent(temp, layout.dbFile)) {
      // No hard links here (some network file systems): under the lock a rename is as safe.
      fs.renameSync(temp, layout.dbFile);
      fsyncDir(layout.dir);
    }
  } finally {
    removeWithSideFiles(temp);
  }
  return true;
}

/** An index of HEAD in memory, private to this process; undefined without a commit. */
async function inMemory(
  repo: GitRepository,
  head: string | undefined,
  onProgress?: OnProgress,
): Promise<Database | undefined> {
  if (head === undefined) return undefined;
  const database = Database.openInMemory();
  try {
    await fillAtHead(database, repo, head, onProgress);
  } catch (error) {
    database.close();
    throw error;
  }
  return database;
}

/** A private copy of a read-only store's index.db (and its WAL, which SQLite then replays). */
function privateCopy(file: string): { database: Database; folder: string } {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lessons-index-'));
  try {
    const copy = path.join(folder, 'index.db');
    fs.copyFileSync(file, copy);
    const wal = fs.statSync(`${file}-wal`, { throwIfNoEntry: false });
    if (wal !== undefined && wal.size > 0) fs.copyFileSync(`${file}-wal`, `${copy}-wal`);
    return { database: Database.openCopy(copy), folder };
  } catch (error) {
    fs.rmSync(folder, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The index for a reader or for verify, without taking the writers' lock. A missing index.db
 * is built from HEAD (and installed when the store is writable); a read-only store is read
 * through a private copy. Throws INDEX_NOT_A_FILE (StoreError) when index.db is a directory or
 * another non-file, and SQLITE_CORRUPT when it is not a database.
 */
export async function openIndexForReading(
  layout: StoreLayout,
  options: {
    onProgress?: OnProgress | undefined;
    /**
     * When the store is read-only and its index.db cannot be read, build the index from HEAD
     * in memory instead of failing: nobody could run the fix (reindex) there. Readers want
     * this; verify does not, it reports the damage. @default false
     */
    readOnlyFallback?: boolean | undefined;
  } = {},
): Promise<ReadableIndex> {
  const readOnly = !storeWritable(layout.dir);
  const plain = (database: Database | undefined, origin: IndexOrigin): ReadableIndex => ({
    database,
    origin,
    readOnly,
    close: () => database?.close(),
  });
  const repo = new GitRepository(layout.dir);
  if (Database.indexExists(layout.dbFile)) {
    if (!readOnly) return plain(Database.openForRead(layout.dbFile), 'file');
    try {
      const { database, folder } = privateCopy(layout.dbFile);
      return {
        database,
        origin: 'copy',
        readOnly,
        close: () => {
          database.close();
          fs.rmSync(folder, { recursive: true, force: true });
        },
      };
    } catch (error) {
      if (!(options.readOnlyFallback === true && error instanceof SqliteCorruptError)) throw error;
    }
    return plain(await inMemory(repo, repo.readableHead(), options.onProgress), 'memory');
  }

  const head = repo.readableHead();
  if (head === undefined) return plain(undefined, 'file');
  if (readOnly) return plain(await inMemory(repo, head, options.onProgress), 'memory');

  const temp = tempPathFor(layout.dbFile);
  let installed = false;
  // The complete index of `head`, kept in memory when it cannot be installed (no hard links
  // here), so HEAD's files are not read twice.
  let kept: Database | undefined;
  try {
    await writeIndexFile(temp, (database) => fillAtHead(database, repo, head, options.onProgress));
    // Only an index of the HEAD that is current may become index.db: a writer that committed
    // meanwhile had built (or found) one of its own under the lock, so link() then finds it.
    if (repo.readableHead() === head) installed = installIfAbsent(temp, layout.dbFile);
    // Another process's index.db, installed meanwhile, is opened below: no copy needed then.
    if (!installed && !Database.indexExists(layout.dbFile)) kept = Database.copyIntoMemory(temp);
  } catch {
    installed = false;
  } finally {
    if (!installed) removeWithSideFiles(temp);
  }
  if (installed || Database.indexExists(layout.dbFile)) {
    kept?.close();
    return plain(Database.openForRead(layout.dbFile), 'built');
  }
  return plain(kept ?? (await inMemory(repo, head, options.onProgress)), 'memory');
}
