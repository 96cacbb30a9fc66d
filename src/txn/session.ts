// A writer's session: everything opened and checked while holding the writers' lock, before
// any transaction runs. Creates the store on first write (repository, .gitignore commit,
// index.db), rebuilds a missing git index or SQLite index, runs recovery, and puts back the
// record entries a person's git may have dropped from .git/index.

import fs from 'node:fs';
import path from 'node:path';
import { resolveAuthor } from '../git/config.js';
import { entryFromStat } from '../git/index-file.js';
import { GitRepository } from '../git/repository.js';
import { lookupPath } from '../git/tree.js';
import type { DatabaseConnection } from '../resources/connection.js';
import { GitIndexManager } from '../resources/git-index.js';
import { ensureIndexDb } from '../resources/index-db.js';
import { rebuildRows } from '../db/rebuild.js';
import { Journal } from '../resources/journal.js';
import { recoverJournal, type RecoveryReport } from './recovery.js';
import type { WriteContext } from '../participants/types.js';
import { readIfExists, writeFileAtomic } from '../util/durable.js';
import { GITIGNORE_LINES, type StoreLayout } from '../resources/layout.js';
import type { HeldLock } from '../resources/lock.js';

export interface SessionOptions {
  readonly staleMs: number;
  readonly now: () => Date;
  /** Epoch ms until which waiting on native git's lock files is worth it. */
  readonly deadline: number;
}

/**
 * Open a session on the store at `layout`, under the writers' lock `lock`, with the write
 * connection `db` (`created` when index.db was new): create what a first write needs, and
 * recover what crashed writers left.
 */
export async function openSession(
  layout: StoreLayout,
  lock: HeldLock,
  connection: DatabaseConnection,
  options: SessionOptions,
): Promise<{ ctx: WriteContext; recovery: RecoveryReport }> {
  const repo = new GitRepository(layout.dir);
  repo.ensureCreated();
  const author = resolveAuthor(repo.gitdir);
  const gitIndex = new GitIndexManager(repo, layout.indexStampFile);
  await ensureGitignore(repo, gitIndex, layout, author, options);
  await ensureIndexFile(repo, gitIndex, options.deadline);

  // A fresh clone has no index.db: build it from HEAD, complete, before anyone opens it.
  await ensureIndexDb(layout, repo);
  return connection.acquire(async (db, created) => {
    if (created) {
      const tree = await repo.headTree();
      if (tree !== undefined) await rebuildRows(db, repo, tree);
    }
    const ctx: WriteContext = {
      layout,
      repo,
      db,
      journal: new Journal(layout.journalDir),
      gitIndex,
      author,
      lock,
      deadline: options.deadline,
    };
    const recovery = await recoverJournal(ctx, { staleMs: options.staleMs });
    await restoreDroppedEntries(repo, gitIndex, options.deadline);
    return { ctx, recovery };
  });
}

/**
 * When .git/index is not the one lessons wrote last, a person's git wrote it, and a `git
 * commit` racing a writer may have put back a copy without that writer's entry (git reads the
 * index before it takes index.lock). Entries HEAD holds for records but the index lacks are
 * put back, so `git status` stays clean; anything else in the index is the person's.
 */
async function restoreDroppedEntries(
  repo: GitRepository,
  gitIndex: GitIndexManager,
  deadline: number,
): Promise<void> {
  if (!gitIndex.foreign()) return;
  const tree = await repo.headTree();
  if (tree === undefined || !fs.existsSync(repo.indexPath)) return;
  await gitIndex.acquire(deadline, async (index) => {
    const missing = await gitIndex.missingRecordEntries(tree);
    // Staged even when nothing is missing: the stamp then names this index, checked.
    index.stage(
      missing.length === 0 && index.current !== undefined
        ? index.current
        : await repo.nextIndex(index.current, missing, [], tree),
    );
  });
}

/**
 * The store's .gitignore must keep index.db* and .lessons/ out of git. The first commit of a
 * new store adds it; an existing repository gets the missing lines in a commit of their own.
 */
async function ensureGitignore(
  repo: GitRepository,
  gitIndex: GitIndexManager,
  layout: StoreLayout,
  author: { name: string; email: string },
  options: SessionOptions,
): Promise<void> {
  const now = options.now();
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
  await gitIndex.acquire(options.deadline, async (index) => {
    await repo.moveMainWaiting(head, commit, options.deadline);
    const entry = entryFromStat('.gitignore', blobOid, fs.lstatSync(file, { bigint: true }));
    index.stage(await repo.nextIndex(index.current, [entry], [], tree));
  });
}

/** A store whose .git/index went missing gets one rebuilt from HEAD, so `git status` is right. */
async function ensureIndexFile(
  repo: GitRepository,
  gitIndex: GitIndexManager,
  deadline: number,
): Promise<void> {
  if (fs.existsSync(repo.indexPath)) return;
  const tree = await repo.headTree();
  if (tree === undefined) return;
  await gitIndex.acquire(deadline, async (index) => {
    if (index.current === undefined) index.stage(await repo.buildIndex(tree));
  });
}
