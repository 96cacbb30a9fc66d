// The stores' side of a sync's integration (src/sync/ drives it): main moves from the local
// commit to the fetched one or to a merge commit, and the working tree, .git/index and the rows
// follow for the changed paths only. Files are staged at temp names before the move, renamed
// into place after it; rows change in an SQLite transaction that commits last.
//
// Recovery (and the undo of a failed integration) is one idempotent step: decide where main
// stands (an aborted integration whose commit main holds is moved back by compare-and-swap),
// then make every changed path agree with HEAD in the files, the index and the rows. A file
// that holds neither side's bytes is a person's and is left alone (verify reports it).

import fs from 'node:fs';
import path from 'node:path';
import { applyChangedPaths } from '../db/apply.js';
import { readCommit } from '../git/commit.js';
import { hashObject } from '../git/hash.js';
import { entryFromStat, type IndexEntry } from '../git/index-file.js';
import { MAIN_REF } from '../git/refs.js';
import { lookupPath } from '../git/tree.js';
import { Conflicts } from '../resources/conflicts.js';
import type { HeldIndex } from '../resources/git-index.js';
import type { IntegratedPath, IntegrateIntent, JournalEntry } from '../resources/journal.js';
import { insideStore } from '../resources/layout.js';
import {
  fsyncDir,
  mkdirDurable,
  readIfExists,
  rmQuiet,
  tempPathFor,
  unlinkIfExists,
  writeFileAtomic,
} from '../util/durable.js';
import { syncFiles } from './files.js';
import { removeDeadWritersLock } from './git.js';
import type { WriteContext } from './types.js';

/** A new content at its temp name, and the path it becomes. */
export interface StagedFile {
  readonly tmp: string;
  readonly target: string;
}

/** How far history is walked to find an integration's commit on main. */
const MAX_WALK = 10_000;

function fileMode(mode: string | null | undefined): number {
  return mode === '100755' ? 0o755 : 0o644;
}

/** The absolute path of a changed path, refusing links and anything outside the store. */
export function integratedTarget(ctx: WriteContext, relative: string): string {
  return insideStore(ctx.layout, path.join(ctx.layout.dir, ...relative.split('/')));
}

/** Every new content written to a temp name beside its path and fsynced; nothing in place yet. */
export async function stageIntegratedFiles(
  ctx: WriteContext,
  intent: IntegrateIntent,
  blobs?: ReadonlyMap<string, Buffer>,
): Promise<StagedFile[]> {
  const staged: StagedFile[] = [];
  try {
    for (const change of intent.changes) {
      if (change.after === null) continue;
      const target = integratedTarget(ctx, change.path);
      mkdirDurable(path.dirname(target));
      const content =
        blobs?.get(change.after) ?? (await ctx.repo.objects.readTyped(change.after, 'blob'));
      const tmp = tempPathFor(target);
      staged.push({ tmp, target });
      const fd = fs.openSync(tmp, 'wx', fileMode(change.mode));
      try {
        fs.writeSync(fd, content);
      } finally {
        fs.closeSync(fd);
      }
    }
    await syncFiles(staged.map((f) => f.tmp));
  } catch (error) {
    for (const { tmp } of staged) rmQuiet(tmp);
    throw error;
  }
  return staged;
}

/** After main moved: the staged files renamed into place, removed paths unlinked, folders fsynced. */
export function placeIntegratedFiles(
  ctx: WriteContext,
  intent: IntegrateIntent,
  staged: readonly StagedFile[],
): void {
  const dirs = new Set<string>();
  for (const { tmp, target } of staged) {
    fs.renameSync(tmp, target);
    dirs.add(path.dirname(target));
  }
  for (const change of intent.changes) {
    if (change.after !== null) continue;
    const target = integratedTarget(ctx, change.path);
    if (unlinkIfExists(target)) dirs.add(path.dirname(target));
  }
  for (const dir of dirs) if (fs.existsSync(dir)) fsyncDir(dir);
}

/** The index with each changed path's entry as `blobOf` says HEAD (`tree`) has it. */
export async function integratedIndex(
  ctx: WriteContext,
  held: HeldIndex,
  changes: readonly IntegratedPath[],
  tree: string,
  blobOf: (change: IntegratedPath) => string | null,
): Promise<Buffer> {
  const { repo } = ctx;
  const upsert: IndexEntry[] = [];
  const remove: string[] = [];
  for (const change of changes) {
    const oid = blobOf(change);
    if (oid === null) remove.push(change.path);
    else upsert.push(entryFromStat(change.path, oid, repo.statIfMatches(change.path, oid)));
  }
  return repo.nextIndex(held.current, upsert, remove, tree);
}

/** The notes of an integration's conflicts, written (again) once main holds its merge. */
export function writeConflictNotes(ctx: WriteContext, intent: IntegrateIntent): void {
  const conflicts = new Conflicts(ctx.layout.conflictsDir);
  for (const note of intent.conflicts) conflicts.write(note);
}

/** Is `commit` main, or on main's first-parent line back to `stopAt`? */
async function onMain(ctx: WriteContext, commit: string, stopAt: string | null): Promise<boolean> {
  let oid = ctx.repo.head();
  for (let depth = 0; oid !== undefined && depth < MAX_WALK; depth++) {
    if (oid === commit) return true;
    if (oid === stopAt) return false;
    oid = (await readCommit(ctx.repo.objects, oid)).parents[0];
  }
  return false;
}

export interface IntegrationOutcome {
  /** Main holds the integration: its paths now follow it. */
  readonly committed: boolean;
}

/**
 * Finish or undo an integration left by a crash, or undo one that failed (its entry marked
 * aborted): main moved back if it holds an aborted integration, then every changed path made to
 * agree with HEAD in the files, the rows and .git/index. Idempotent.
 */
export async function recoverIntegration(
  ctx: WriteContext,
  entry: JournalEntry,
  intent: IntegrateIntent,
): Promise<IntegrationOutcome> {
  const { repo } = ctx;
  await removeDeadWritersLock(
    `${path.join(repo.gitdir, MAIN_REF)}.lock`,
    Date.parse(entry.created) - 1000,
  );
  await removeDeadWritersLock(`${repo.indexPath}.lock`, Date.parse(entry.created) - 1000);
  const aborted = entry.state === 'aborted';
  if (aborted && intent.from !== null && repo.head() === intent.to) {
    ctx.lock.assertHeld();
    await repo.moveMainWaiting(intent.to, intent.from, ctx.deadline);
  }
  // An aborted integration a person's git has already built on stays: nothing is lost either way.
  const committed = await onMain(ctx, intent.to, intent.from);
  const head = repo.head();
  const tree = head === undefined ? undefined : (await readCommit(repo.objects, head)).tree;
  if (tree === undefined || head === undefined) return { committed };

  // HEAD is nearly always one side or the other; only otherwise are its trees read.
  const atHead = async (change: IntegratedPath): Promise<string | null> => {
    if (head === intent.to) return change.after;
    if (head === intent.from) return change.before;
    return (await lookupPath(repo.objects, tree, change.path))?.oid ?? null;
  };
  const modeAtHead = async (change: IntegratedPath): Promise<string | null> =>
    head === intent.to
      ? change.mode
      : ((await lookupPath(repo.objects, tree, change.path))?.mode ?? null);
  removeTempFilesOf(intent.changes.map((c) => integratedTarget(ctx, c.path)));
  const wanted = new Map<string, string | null>();
  for (const change of intent.changes) {
    const target = integratedTarget(ctx, change.path);
    const want = await atHead(change);
    wanted.set(change.path, want);
    const current = readIfExists(target);
    const currentOid = current === undefined ? null : hashObject('blob', current);
    if (currentOid === want) continue;
    // Only bytes of one side or the other are ours to replace.
    if (currentOid !== null && currentOid !== change.before && currentOid !== change.after)
      continue;
    if (want === null) {
      unlinkIfExists(target);
      fsyncDir(path.dirname(target));
    } else {
      mkdirDurable(path.dirname(target));
      writeFileAtomic(target, await repo.objects.readTyped(want, 'blob'), {
        mode: fileMode(await modeAtHead(change)),
      });
    }
  }

  const { db } = ctx;
  db.begin();
  try {
    await applyChangedPaths(
      db,
      repo,
      intent.changes.map((c) => ({
        path: c.path,
        after: wanted.get(c.path) ?? null,
        commit: committed && wanted.get(c.path) === c.after ? c.commit : head,
      })),
      entry.txid,
    );
    db.commit();
  } catch (error) {
    db.rollback();
    throw error;
  }

  await ctx.gitIndex.acquire(ctx.deadline, async (held) => {
    held.stage(
      await integratedIndex(ctx, held, intent.changes, tree, (c) => wanted.get(c.path) ?? null),
    );
  });
  if (committed) writeConflictNotes(ctx, intent);
  return { committed };
}

/** Remove `<target>.tmp-*` files an interrupted write left, reading each folder once. */
function removeTempFilesOf(targets: readonly string[]): void {
  const byDir = new Map<string, Set<string>>();
  for (const target of targets) {
    const names = byDir.get(path.dirname(target)) ?? new Set<string>();
    names.add(path.basename(target));
    byDir.set(path.dirname(target), names);
  }
  for (const [dir, names] of byDir) {
    let entries: string[];
    try {
      entries = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const entry of entries) {
      const at = entry.indexOf('.tmp-');
      if (at > 0 && names.has(entry.slice(0, at))) rmQuiet(path.join(dir, entry));
    }
  }
}
