// A writer's session: everything opened and checked while holding the writers' lock, before
// any transaction runs. Creates the store on first write (repository, .gitignore commit,
// index.db), rebuilds a missing git index or SQLite index, and runs recovery.

import fs from 'node:fs';
import path from 'node:path';
import { Database } from '../db/database.js';
import { GitLockedError, LockTimeoutError } from '../errors/index.js';
import { resolveAuthor } from '../git/config.js';
import { entryFromStat } from '../git/index-file.js';
import { isGitLocked } from '../git/lockfile.js';
import { MAIN_REF } from '../git/refs.js';
import { GitRepository } from '../git/repository.js';
import { lookupPath } from '../git/tree.js';
import { ensureIndexDb } from '../resources/index-db.js';
import { rebuildRows } from '../db/rebuild.js';
import { Journal } from '../resources/journal.js';
import { recoverJournal, type RecoveryReport } from './recovery.js';
import type { WriteContext } from '../participants/types.js';
import { readIfExists, writeFileAtomic } from '../util/durable.js';
import { GITIGNORE_LINES, type StoreLayout } from '../resources/layout.js';
import type { HeldLock } from '../resources/lock.js';

export interface SessionOptions {
  readonly staleMs?: number;
  readonly now: () => Date;
  /** Epoch ms until which waiting on native git's lock files is worth it. */
  readonly deadline: number;
}

/** Thrown inside the lock when one of git's own lock files is held: the caller waits and retries. */
export class GitBusy extends Error {
  readonly lockPath: string;
  constructor(lockPath: string) {
    super(`${lockPath} is held`);
    this.lockPath = lockPath;
  }
}

export function gitBusyTimeout(lockPath: string, timeoutMs: number): LockTimeoutError {
  let since = '';
  try {
    since = ` since ${fs.statSync(lockPath).mtime.toISOString()}`;
  } catch {
    // released meanwhile
  }
  return new LockTimeoutError(
    `The store is busy: git's lock file ${lockPath} has been held${since} for all of the ${(timeoutMs / 1000).toFixed(1)} s lock timeout. ` +
      `A git command is running in the store; if none is, remove ${lockPath} and try again.`,
    { data: { lockPath, timeoutMs } },
  );
}

/** Keeps the write connection across calls, reopening it if the file was replaced (reindex). */
export class DatabaseHandle {
  private database: Database | undefined;
  private identity = '';

  open(file: string): { database: Database; created: boolean } {
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    const identity = stat === undefined ? '' : `${stat.dev}:${stat.ino}`;
    if (this.database !== undefined && identity === this.identity && identity !== '')
      return { database: this.database, created: false };
    this.close();
    const opened = Database.openForWrite(file);
    const after = fs.statSync(file);
    this.identity = `${after.dev}:${after.ino}`;
    this.database = opened.database;
    return opened;
  }

  close(): void {
    this.database?.close();
    this.database = undefined;
  }
}

export async function openSession(
  layout: StoreLayout,
  lock: HeldLock,
  dbHandle: DatabaseHandle,
  options: SessionOptions,
): Promise<{ ctx: WriteContext; recovery: RecoveryReport }> {
  const repo = new GitRepository(layout.dir);
  repo.ensureCreated();
  const author = resolveAuthor(repo.gitdir);
  try {
    await ensureGitignore(repo, layout, author, options.now());
    await ensureIndexFile(repo);
  } catch (error) {
    if (error instanceof GitLockedError) throw new GitBusy(error.data.lockPath as string);
    throw error;
  }

  // A fresh clone has no index.db: build it from HEAD, complete, before anyone opens it.
  await ensureIndexDb(layout, repo);
  const { database: db, created } = dbHandle.open(layout.dbFile);
  if (created) {
    const tree = await repo.headTree();
    if (tree !== undefined) await rebuildRows(db, repo, tree);
  }
  const ctx: WriteContext = {
    layout,
    repo,
    db,
    journal: new Journal(layout.journalDir),
    author,
    lock,
    deadline: options.deadline,
  };
  const recovery = await recoverJournal(
    ctx,
    options.staleMs === undefined ? {} : { staleMs: options.staleMs },
  );

  for (const target of [repo.indexPath, path.join(repo.gitdir, MAIN_REF)]) {
    if (isGitLocked(target)) throw new GitBusy(`${target}.lock`);
  }
  return { ctx, recovery };
}

/**
 * The store's .gitignore must keep index.db* and .lessons/ out of git. The first commit of a
 * new store adds it; an existing repository gets the missing lines in a commit of their own.
 */
async function ensureGitignore(
  repo: GitRepository,
  layout: StoreLayout,
  author: { name: string; email: string },
  now: Date,
): Promise<void> {
  const head = repo.head();
  const file = path.join(layout.dir, '.gitignore');
  let committed: Buffer | undefined;
  if (head !== undefined) {
    const tree = await repo.headTree();
    const entry =
      tree === undefined ? undefined : await lookupPath(repo.objects, tree, '.gitignore');
    committed = entry === undefined ? undefined : await repo.objects.readTyped(entry.oid, 'blob');
  }
  const lines = new Set((committed?.toString('utf8') ?? '').split('\n').map((l) => l.trim()));
  if (head !== undefined && GITIGNORE_LINES.every((l) => lines.has(l))) return;

  const base = readIfExists(file)?.toString('utf8') ?? committed?.toString('utf8') ?? '';
  const present = new Set(base.split('\n').map((l) => l.trim()));
  const missing = GITIGNORE_LINES.filter((l) => !present.has(l));
  const content = Buffer.from(
    `${base}${base === '' || base.endsWith('\n') ? '' : '\n'}${missing.map((l) => `${l}\n`).join('')}`,
    'utf8',
  );
  writeFileAtomic(file, content);
  const blobOid = repo.objects.write('blob', content);
  const { commit, tree } = await repo.writeCommit({
    parent: head,
    changes: [{ path: '.gitignore', blobOid }],
    message:
      head === undefined
        ? 'lessons: create the store\n'
        : 'lessons: keep index.db and .lessons/ out of git\n',
    author,
    time: Math.floor(now.getTime() / 1000),
  });
  const lock = repo.lockIndex();
  try {
    const current = repo.readIndex();
    repo.moveMain(head, commit);
    const entry = entryFromStat('.gitignore', blobOid, fs.lstatSync(file, { bigint: true }));
    lock.write(await repo.nextIndex(current, [entry], [], tree), true);
    lock.commit(false);
  } finally {
    lock.release();
  }
}

/** A store whose .git/index went missing gets one rebuilt from HEAD, so `git status` is right. */
async function ensureIndexFile(repo: GitRepository): Promise<void> {
  if (fs.existsSync(repo.indexPath)) return;
  const tree = await repo.headTree();
  if (tree === undefined) return;
  const lock = repo.lockIndex();
  try {
    lock.write(await repo.buildIndex(tree), true);
    lock.commit(false);
  } finally {
    lock.release();
  }
}
