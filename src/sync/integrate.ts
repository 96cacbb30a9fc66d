// Integrating a fetched main into the store's main, under the writers' lock, as one journaled
// transaction:
//
//   plan: fast-forward, or a merge commit whose tree is the union of both sides' files
//         (written and fsynced; nothing visible)
//   -> journal entry (the intent: from, to, every changed path with its blobs)
//   -> new contents at temp names, fsynced -> rows changed, SQLite transaction open
//   -> holding index.lock: main moved by compare-and-swap (THE COMMIT POINT), files renamed
//      into place, .git/index staged
//   -> conflict notes -> SQLite COMMIT -> journal entry removed
//
// A failure anywhere marks the entry aborted and undoes through the same idempotent step that
// recovery runs after a crash (participants/integrate.ts).

import path from 'node:path';
import { SyncError } from '../errors/index.js';
import { applyChangedPaths } from '../db/apply.js';
import { formatCommit, readCommit } from '../git/commit.js';
import { hashObject } from '../git/hash.js';
import { readRef } from '../git/refs.js';
import { diffTreeEntries, TreeEditor } from '../git/tree.js';
import {
  integratedIndex,
  integratedTarget,
  placeIntegratedFiles,
  recoverIntegration,
  stageIntegratedFiles,
  writeConflictNotes,
  type StagedFile,
} from '../participants/integrate.js';
import type { WriteContext } from '../participants/types.js';
import { newId } from '../record/ids.js';
import type { ConflictNote } from '../resources/conflicts.js';
import type { IntegratedPath, IntegrateIntent, JournalEntry } from '../resources/journal.js';
import { readIfExists, rmQuiet } from '../util/durable.js';
import { checkpoint } from '../util/faults.js';
import type { NativeGit } from './native.js';

export type IntegrateAction =
  /** The remote has nothing the store lacks (or has no main yet). */
  | 'up-to-date'
  /** main moved to the fetched commit. */
  | 'fast-forward'
  /** A merge commit joins both sides. */
  | 'merge';

export interface IntegrateResult {
  readonly action: IntegrateAction;
  /** main after the integration. */
  readonly head: string;
  /** The fetched commit of the remote's main (null: the remote has none). */
  readonly fetched: string | null;
  /** Paths whose blobs changed in the store. */
  readonly changed: number;
  /** Rows inserted or rewritten, and deleted. */
  readonly rows: { readonly upserted: number; readonly deleted: number };
  readonly unparseable: readonly { readonly path: string; readonly reason: string }[];
  readonly conflicts: readonly ConflictNote[];
}

/** The ref a fetch from `remote` leaves the remote's main in. */
export function trackingRef(remote: string): string {
  return `refs/remotes/${remote}/main`;
}

/** Top-level names a remote's commit may not bring into a store: lessons' own places. */
export function forbidden(p: string): boolean {
  const top = p.split('/')[0]!;
  return top === '.git' || top === '.lessons' || top.startsWith('index.db');
}

interface Plan {
  readonly to: string;
  readonly merge: boolean;
  readonly conflicts: ConflictNote[];
}

/**
 * The merged tree: the local tree, with every path the remote changed since the merge base
 * taken from the remote when the local side left it alone. A path both sides changed to
 * different blobs is a conflict: HEAD takes the remote's (the rule: every store converges on
 * what the shared remote holds), and a note names the local blob, which stays reachable.
 */
async function planMerge(
  ctx: WriteContext,
  git: NativeGit,
  remote: string,
  local: string,
  fetched: string,
  txid: string,
  now: Date,
): Promise<Plan> {
  const { objects } = ctx.repo;
  const base = await git.mergeBase(local, fetched);
  const tree = async (c: string | undefined): Promise<string | undefined> =>
    c === undefined ? undefined : (await readCommit(objects, c)).tree;
  const [baseTree, localTree, remoteTree] = await Promise.all([
    tree(base),
    tree(local),
    tree(fetched),
  ]);
  // Each side's changes since the base, with their entries: only differing trees are read.
  const localChanged = new Map(
    (await diffTreeEntries(objects, localTree, baseTree)).map((c) => [c.path, c.after] as const),
  );
  const editor = new TreeEditor(objects, localTree);
  const conflicts: ConflictNote[] = [];
  const pending: Omit<ConflictNote, 'mergeCommit'>[] = [];
  for (const { path: p, after: theirs } of await diffTreeEntries(objects, remoteTree, baseTree)) {
    if (localChanged.has(p)) {
      const ours = localChanged.get(p);
      if (ours?.oid === theirs?.oid && ours?.mode === theirs?.mode) continue;
      pending.push({
        id: `${txid}-${pending.length + 1}`,
        path: p,
        kept: 'remote',
        keptBlob: theirs?.oid ?? null,
        otherBlob: ours?.oid ?? null,
        localCommit: local,
        remoteCommit: fetched,
        remote,
        detected: now.toISOString(),
      });
    }
    if (theirs === undefined) await editor.remove(p);
    else await editor.set(p, theirs.oid, theirs.mode);
  }
  const merged = await editor.write();
  const trailers = [
    `Lessons-Sync-Txid: ${txid}`,
    ...pending.map((c) => `Lessons-Conflict: ${c.path}`),
  ];
  const to = objects.write(
    'commit',
    formatCommit({
      tree: merged,
      parents: [local, fetched],
      author: ctx.author,
      committer: ctx.author,
      time: Math.floor(now.getTime() / 1000),
      message: `lessons: sync with ${remote}\n\n${
        pending.length === 0
          ? 'Both sides added files; the tree is their union.'
          : `${pending.length} path${pending.length === 1 ? '' : 's'} changed on both sides: the remote's version is kept, the local one stays in the first parent.`
      }\n\n${trailers.join('\n')}\n`,
    }),
  );
  objects.syncDirs();
  for (const note of pending) conflicts.push({ ...note, mergeCommit: to });
  return { to, merge: true, conflicts };
}

/** Marks a commit's header in `git log -z` output (no store path starts with it). */
const COMMIT_MARK = 'lessons-commit ';

/**
 * For each changed record path, the newest fetched commit that changed it (the row's
 * commit_oid): one `git log` over the fetched commits only (each diffed against its first
 * parent, merges included), so the cost follows what was fetched.
 */
async function attribute(
  git: NativeGit,
  local: string,
  fetched: string,
  to: string,
  paths: readonly string[],
): Promise<Map<string, string>> {
  const wanted = new Set(paths);
  const found = new Map<string, string>();
  if (wanted.size === 0) return found;
  const out = await git.check([
    'log',
    '-z',
    '--root',
    '--name-only',
    '--no-renames',
    '--diff-merges=first-parent',
    `--format=${COMMIT_MARK}%H`,
    fetched,
    `^${local}`,
  ]);
  let commit = '';
  for (const token of out.split('\0')) {
    // -z ends each name with NUL, names verbatim; a commit's names follow its header and a newline.
    const name = token.startsWith('\n') ? token.slice(1) : token;
    if (name.startsWith(COMMIT_MARK)) commit = name.slice(COMMIT_MARK.length);
    else if (wanted.has(name) && !found.has(name)) found.set(name, commit);
  }
  for (const p of wanted) if (!found.has(p)) found.set(p, to);
  return found;
}

/**
 * Refuse to integrate over a person's uncommitted edit: a changed path whose working file
 * holds neither side's bytes. Nothing has been written yet.
 */
function refuseDirty(ctx: WriteContext, changes: readonly IntegratedPath[]): void {
  const dirty: string[] = [];
  for (const change of changes) {
    const current = readIfExists(integratedTarget(ctx, change.path));
    if (current === undefined) continue;
    const oid = hashObject('blob', current);
    if (oid !== change.before && oid !== change.after) dirty.push(change.path);
  }
  if (dirty.length > 0)
    throw new SyncError(
      'WORKTREE_DIRTY',
      `the remote changed ${dirty.length === 1 ? 'a file' : `${dirty.length} files`} that ${dirty.length === 1 ? 'holds' : 'hold'} an uncommitted edit here: ${dirty.slice(0, 10).join(', ')}${dirty.length > 10 ? ', ...' : ''}. ` +
        'Commit the edit first (`lessons cleanup` commits a valid edit of a record) or drop it (`git checkout -- <path>` in the store), then sync again. Nothing was integrated.',
      { data: { paths: dirty } },
    );
}

/**
 * Integrate the fetched main of `remote` (read from its remote-tracking ref now, under the
 * lock) into main. The caller holds the writers' lock (Writer.run) and fetched beforehand.
 */
export async function integrateFetched(
  ctx: WriteContext,
  git: NativeGit,
  remote: string,
  now: Date,
): Promise<IntegrateResult> {
  const { repo } = ctx;
  const local = repo.head();
  const fetched = readRef(repo.gitdir, trackingRef(remote));
  const nothing = (head: string | undefined): IntegrateResult => ({
    action: 'up-to-date',
    head: head ?? '',
    fetched: fetched ?? null,
    changed: 0,
    rows: { upserted: 0, deleted: 0 },
    unparseable: [],
    conflicts: [],
  });
  if (local === undefined) throw new Error('a session always has a commit on main');
  if (fetched === undefined || fetched === local || (await git.isAncestor(fetched, local)))
    return nothing(local);

  const txid = newId();
  const plan: Plan = (await git.isAncestor(local, fetched))
    ? { to: fetched, merge: false, conflicts: [] }
    : await planMerge(ctx, git, remote, local, fetched, txid, now);
  const localTree = (await readCommit(repo.objects, local)).tree;
  const toTree = (await readCommit(repo.objects, plan.to)).tree;
  const diff = await diffTreeEntries(repo.objects, toTree, localTree);
  const paths = diff.map((c) => c.path);
  const bad = paths.filter(forbidden);
  if (bad.length > 0)
    throw new SyncError(
      'REMOTE_NOT_A_STORE',
      `the remote's main holds ${bad.slice(0, 5).join(', ')}: lessons keeps its own files there, so this is not a lessons store's history. Nothing was integrated.`,
    );
  const commits = await attribute(git, local, fetched, plan.to, paths);
  const changes: IntegratedPath[] = [];
  for (const { path: p, after, before } of diff) {
    if (after !== undefined && after.mode !== '100644' && after.mode !== '100755')
      throw new SyncError(
        'REMOTE_NOT_A_STORE',
        `the remote's main holds ${p} as ${after.mode === '120000' ? 'a symbolic link' : `mode ${after.mode}`}: a store holds only plain files. Nothing was integrated.`,
      );
    changes.push({
      path: p,
      before: before?.oid ?? null,
      after: after?.oid ?? null,
      mode: after?.mode ?? null,
      commit: commits.get(p) ?? plan.to,
    });
  }
  refuseDirty(ctx, changes);
  const blobs = await git.readBlobs(changes.flatMap((c) => (c.after === null ? [] : [c.after])));

  const intent: IntegrateIntent = {
    remote,
    fetched,
    from: local,
    to: plan.to,
    merge: plan.merge,
    changes,
    conflicts: plan.conflicts,
  };
  const entry: JournalEntry = {
    version: 1,
    txid,
    owner: ctx.lock.identity,
    created: new Date().toISOString(),
    parent: local,
    records: [],
    integrate: intent,
  };
  ctx.journal.write(entry);
  await checkpoint('sync-journal');
  let staged: StagedFile[] = [];
  let rows: Awaited<ReturnType<typeof applyChangedPaths>>;
  try {
    staged = await stageIntegratedFiles(ctx, intent, blobs);
    await checkpoint('sync-files');
    ctx.db.begin();
    rows = await applyChangedPaths(ctx.db, repo, changes, txid, blobs);
    await checkpoint('sync-rows');
    await ctx.gitIndex.acquire(ctx.deadline, async (held) => {
      ctx.lock.assertHeld();
      await repo.moveMainWaiting(local, plan.to, ctx.deadline);
      await checkpoint('sync-ref');
      placeIntegratedFiles(ctx, intent, staged);
      staged = [];
      held.stage(await integratedIndex(ctx, held, changes, toTree, (c) => c.after));
    });
    await checkpoint('sync-placed');
    writeConflictNotes(ctx, intent);
    ctx.db.commit();
  } catch (error) {
    await undo(ctx, entry, intent, staged);
    throw error;
  }
  await checkpoint('sync-committed');
  try {
    ctx.journal.remove(txid);
  } catch {
    // left for recovery, which rolls it forward (a no-op)
  }
  await checkpoint('sync-done');
  return {
    action: plan.merge ? 'merge' : 'fast-forward',
    head: plan.to,
    fetched,
    changed: changes.length,
    rows: { upserted: rows.upserted, deleted: rows.deleted },
    unparseable: rows.unparseable,
    conflicts: plan.conflicts,
  };
}

/**
 * A failed integration: the abort made durable first, then undone by the step recovery runs
 * (main moved back if it moved, every changed path made to agree with HEAD). What the undo
 * cannot do, the next command's recovery does, from the entry marked aborted.
 */
async function undo(
  ctx: WriteContext,
  entry: JournalEntry,
  intent: IntegrateIntent,
  staged: readonly StagedFile[],
): Promise<void> {
  try {
    ctx.journal.markAborted(entry.txid);
  } catch {
    // recovery decides from main alone: an integration is never a loss either way
  }
  ctx.db.rollback();
  for (const { tmp } of staged) rmQuiet(tmp);
  try {
    await recoverIntegration(ctx, { ...entry, state: 'aborted' }, intent);
    ctx.journal.remove(entry.txid);
  } catch {
    // the entry stays, marked aborted: the next command or `lessons recover` finishes the undo
  }
}

/** The store-relative path of a conflict note's file, for messages. */
export function conflictFile(ctx: WriteContext, id: string): string {
  return path.relative(ctx.layout.dir, path.join(ctx.layout.conflictsDir, `${id}.json`));
}
