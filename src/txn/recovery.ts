// Recovery: finish or undo the transactions a crash left in the journal. Runs under the
// writers' lock before any new work, and on `lessons recover`. For each entry: if main's
// history holds the commit carrying its Lessons-Txid, roll forward (files and rows made to
// match the commit); otherwise roll back. Every step is idempotent, so a crash during recovery
// is recovered by the next run. Entries of writers still alive are left alone.

import fs from 'node:fs';
import { readCommit } from '../git/commit.js';
import { sha256 } from '../git/hash.js';
import { listTree, lookupPath } from '../git/tree.js';
import { Quarantine } from '../resources/quarantine.js';
import { FilesParticipant } from '../participants/files.js';
import { GitParticipant } from '../participants/git.js';
import { SqliteParticipant } from '../participants/sqlite.js';
import { parseRecord } from '../record/markdown.js';
import { DEFAULT_STALE_MS } from '../resources/lock.js';
import { liveness } from '../resources/owner.js';
import { checkpoint } from '../util/faults.js';
import type { JournalEntry, JournalFile, JournalRecord } from '../resources/journal.js';
import type { Outcome, WriteContext } from '../participants/types.js';

export interface RecoveryAction {
  readonly txid: string;
  readonly action: 'rolled-forward' | 'rolled-back' | 'skipped' | 'quarantined';
  readonly reason: string;
  readonly records: readonly { readonly id: string; readonly path: string }[];
  readonly commit?: string;
}

export interface RecoveryReport {
  readonly actions: readonly RecoveryAction[];
}

export interface RecoveryOptions {
  /** Entries from another host are presumed dead after this long. @default 10000 */
  readonly staleMs?: number;
}

export async function recoverJournal(
  ctx: WriteContext,
  options: RecoveryOptions = {},
): Promise<RecoveryReport> {
  const files = ctx.journal.list();
  removeStrayTempFiles(ctx);
  if (files.length === 0) return { actions: [] };
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const actions: RecoveryAction[] = [];
  for (const file of files) {
    actions.push(await recoverOne(ctx, file, staleMs));
  }
  if (actions.some((a) => a.action !== 'skipped')) {
    // A writer died mid-transaction: it may have left half-written object temp files too.
    const host = ctx.lock.identity.host;
    ctx.repo.objects.sweepTempFiles(
      (pid) => pid !== process.pid && liveness({ pid, host }) === 'dead',
    );
  }
  return { actions };
}

async function recoverOne(
  ctx: WriteContext,
  file: JournalFile,
  staleMs: number,
): Promise<RecoveryAction> {
  let entry = file.entry;
  if (entry !== undefined && entry.owner.pid !== process.pid) {
    const state = liveness(entry.owner);
    const old = Date.now() - file.mtimeMs > staleMs;
    if (state === 'alive' || (state === 'unknown' && !old)) {
      return {
        txid: file.txid,
        action: 'skipped',
        reason: `its writer (pid ${entry.owner.pid} on ${entry.owner.host}) is still running`,
        records: summary(entry.records),
      };
    }
  }
  await checkpoint('recover-start');

  const head = ctx.repo.head();
  const commit = await ctx.repo.findTxidCommit(file.txid, head, entry?.parent ?? undefined);
  // An aborted entry is rolled back whatever main holds: its writer reported failure.
  const aborted = entry?.state === 'aborted';
  let outcome: Outcome = { committed: false };
  if (commit !== undefined && !aborted)
    outcome = { committed: true, commit, tree: (await readCommit(ctx.repo.objects, commit)).tree };

  if (entry === undefined) {
    if (!outcome.committed) {
      // Torn, and nothing of it was committed: keep its bytes for inspection, nothing else to do.
      new Quarantine(ctx.layout).moveIn(
        file.file,
        `unreadable journal entry (${file.problem ?? 'unknown problem'}); its transaction never committed`,
      );
      return {
        txid: file.txid,
        action: 'quarantined',
        reason: 'the entry was unreadable and its transaction never committed',
        records: [],
      };
    }
    entry = await entryFromCommit(ctx, file.txid, outcome.commit);
  }

  // Files and rows first: on a full disk, removing them frees the space the ref needs.
  await new FilesParticipant(ctx).recover(entry, outcome);
  await checkpoint('recover-files');
  await new SqliteParticipant(ctx).recover(entry, outcome);
  await checkpoint('recover-rows');
  let undone: string | undefined;
  if (aborted && commit !== undefined) undone = await undoAbortedCommit(ctx, entry, commit);
  await new GitParticipant(ctx).recover(entry, outcome);
  await checkpoint('recover-index');
  await checkpoint('recover-journal');
  fs.rmSync(file.file, { force: true });
  if (outcome.committed)
    return {
      txid: file.txid,
      action: 'rolled-forward',
      reason: `commit ${outcome.commit} is on main`,
      records: summary(entry.records),
      commit: outcome.commit,
    };
  return {
    txid: file.txid,
    action: 'rolled-back',
    reason: aborted
      ? `its writer aborted it${undone === undefined ? '' : ` (${undone})`}`
      : 'its commit never reached main',
    records: summary(entry.records),
  };
}

/**
 * Take an aborted transaction's commit off main. If main still points at it, main moves back
 * to its parent by compare-and-swap. If someone committed on top of it meanwhile (a person's
 * own git), their commit is kept and a new commit on top removes the transaction's files, so
 * HEAD holds none of it (its history still does). Idempotent: nothing is done once HEAD's tree
 * holds none of the transaction's files. Returns what was done, or undefined.
 */
async function undoAbortedCommit(
  ctx: WriteContext,
  entry: JournalEntry,
  commit: string,
): Promise<string | undefined> {
  const { repo } = ctx;
  const head = repo.head();
  if (head === commit) {
    const parent = (await readCommit(repo.objects, commit)).parents[0];
    if (parent !== undefined) {
      ctx.lock.assertHeld();
      await repo.moveMainWaiting(commit, parent, ctx.deadline);
      return `main moved back from ${commit} to ${parent}`;
    }
  }
  const tree = await repo.headTree();
  if (tree === undefined || head === undefined) return undefined;
  const present: string[] = [];
  for (const record of entry.records)
    if ((await lookupPath(repo.objects, tree, record.path))?.oid === record.blobOid)
      present.push(record.path);
  if (present.length === 0) return undefined;
  const written = await repo.writeCommit({
    parent: head,
    changes: present.map((p) => ({ path: p, blobOid: undefined })),
    message: `lessons: undo aborted transaction ${entry.txid}\n\nLessons-Undo-Txid: ${entry.txid}\n`,
    author: ctx.author,
    time: Math.floor(Date.now() / 1000),
  });
  ctx.lock.assertHeld();
  await repo.moveMainWaiting(head, written.commit, ctx.deadline);
  return `commits were made on top of ${commit}; ${written.commit} removes its files`;
}

/** Rebuild what a torn entry said from the commit that carries its txid. */
async function entryFromCommit(
  ctx: WriteContext,
  txid: string,
  commit: string,
): Promise<JournalEntry> {
  const { objects } = ctx.repo;
  const parsed = await readCommit(objects, commit);
  const after = await listTree(objects, parsed.tree);
  const before =
    parsed.parents[0] === undefined
      ? new Map<string, string>()
      : await listTree(objects, (await readCommit(objects, parsed.parents[0])).tree);
  const records: JournalRecord[] = [];
  for (const [path, oid] of after) {
    if (before.get(path) === oid || !/^(failures|heuristics)\//.test(path)) continue;
    const content = await objects.readTyped(oid, 'blob');
    const record = parseRecord(content);
    records.push({ id: record.id, kind: record.kind, path, sha256: sha256(content), blobOid: oid });
  }
  return {
    version: 1,
    txid,
    owner: { pid: 0, host: '', since: '', token: '' },
    created: new Date(0).toISOString(),
    parent: parsed.parents[0] ?? null,
    records,
  };
}

function summary(records: readonly JournalRecord[]): { id: string; path: string }[] {
  return records.map((r) => ({ id: r.id, path: r.path }));
}

/** Temp files of journal writes whose writer is dead. */
function removeStrayTempFiles(ctx: WriteContext): void {
  for (const stray of ctx.journal.strays()) {
    const pid = Number(/\.tmp-(\d+)-/.exec(stray)?.[1]);
    if (pid !== process.pid && liveness({ pid, host: ctx.lock.identity.host }) === 'dead')
      fs.rmSync(stray, { force: true });
  }
}
