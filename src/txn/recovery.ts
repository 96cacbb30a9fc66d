// Recovery: finish or undo the transactions a crash left in the journal. Runs under the
// writers' lock before any new work, and on `lessons recover`. For each entry: if main's
// history holds the commit carrying its Lessons-Txid, roll forward (files and rows made to
// match the commit); otherwise roll back. Every step is idempotent, so a crash during recovery
// is recovered by the next run. Entries of writers still alive are left alone.

import fs from 'node:fs';
import { readCommit } from '../git/commit.js';
import { sha256 } from '../git/hash.js';
import { listTree } from '../git/tree.js';
import { Quarantine } from '../resources/quarantine.js';
import { FilesParticipant } from '../participants/files.js';
import { GitIndexParticipant } from '../participants/git-index.js';
import { GitParticipant } from '../participants/git.js';
import { SqliteParticipant } from '../participants/sqlite.js';
import { isRecordPath } from '../record/paths.js';
import { parseItem } from '../record/stored.js';
import { liveness } from '../resources/owner.js';
import { checkpoint } from '../util/faults.js';
import { recoverIntegration } from '../participants/integrate.js';
import type {
  IntegrateIntent,
  JournalEntry,
  JournalFile,
  JournalRecord,
} from '../resources/journal.js';
import type { Outcome, WriteContext } from '../participants/types.js';
import { HandoverBoard, type HandoverOutcome } from '../resources/handover.js';

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
  readonly staleMs: number;
}

export async function recoverJournal(
  ctx: WriteContext,
  options: RecoveryOptions,
): Promise<RecoveryReport> {
  const files = ctx.journal.list();
  removeStrayTempFiles(ctx);
  if (files.length === 0) return { actions: [] };
  const staleMs = options.staleMs;
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
  if (entry?.integrate !== undefined) return recoverSync(ctx, file, entry, entry.integrate);

  const outcome = await decide(ctx, file.txid, entry);
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

  // Every participant brings its store in line with the outcome; files and rows first: on a
  // full disk, removing them frees the space a new ref lock file needs.
  const steps = [
    [new FilesParticipant(ctx), 'recover-files'],
    [new SqliteParticipant(ctx), 'recover-rows'],
    [new GitParticipant(ctx), undefined],
    [new GitIndexParticipant(ctx), 'recover-index'],
  ] as const;
  for (const [participant, step] of steps) {
    await participant.recover(entry, outcome);
    if (step !== undefined) await checkpoint(step);
  }
  answerWaiters(ctx, entry, outcome);
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
    reason: outcome.aborted
      ? `its writer aborted it${outcome.commit === undefined ? '' : `; its commit ${outcome.commit} was taken off main`}`
      : 'its commit never reached main',
    records: summary(entry.records),
  };
}

/** A sync's integration: finished when main holds it, else undone (participants/integrate.ts). */
async function recoverSync(
  ctx: WriteContext,
  file: JournalFile,
  entry: JournalEntry,
  intent: IntegrateIntent,
): Promise<RecoveryAction> {
  const { committed } = await recoverIntegration(ctx, entry, intent);
  await checkpoint('recover-journal');
  fs.rmSync(file.file, { force: true });
  const paths = intent.changes.map((c) => ({ id: '', path: c.path }));
  return committed
    ? {
        txid: file.txid,
        action: 'rolled-forward',
        reason: `sync with ${intent.remote}: main holds ${intent.to}`,
        records: paths,
        commit: intent.to,
      }
    : {
        txid: file.txid,
        action: 'rolled-back',
        reason: `sync with ${intent.remote}: ${entry.state === 'aborted' ? 'its writer aborted it' : 'main never moved'}; fetched commits stay in the remote-tracking ref for the next sync`,
        records: paths,
      };
}

/**
 * Presumed abort: a transaction is committed only when main holds its commits and its writer
 * did not decide to abort. An aborted entry is rolled back whatever main holds: its writer
 * reported failure.
 */
async function decide(
  ctx: WriteContext,
  txid: string,
  entry: JournalEntry | undefined,
): Promise<Outcome> {
  const { commits, base } = await ctx.repo.findTxidCommits(
    txid,
    ctx.repo.head(),
    entry?.parent ?? undefined,
  );
  const newest = commits[0]?.oid;
  if (entry?.state === 'aborted' || newest === undefined)
    return { committed: false, aborted: entry?.state === 'aborted', commit: newest, base };
  const owners = new Map<string, string>();
  for (const { oid, ids } of commits) for (const id of ids) owners.set(id, oid);
  return {
    committed: true,
    commit: newest,
    tree: (await readCommit(ctx.repo.objects, newest)).tree,
    commits: owners,
  };
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
    if (before.get(path) === oid || !isRecordPath(path)) continue;
    const content = await objects.readTyped(oid, 'blob');
    const record = parseItem(path, content);
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

/**
 * Group commit: tell each waiter whose records the entry carried what became of them (their
 * leader died before it could): stored, with ids, rowids and commits; or rolled back, nothing
 * stored and no entry left, so the waiter may try again.
 */
function answerWaiters(ctx: WriteContext, entry: JournalEntry, outcome: Outcome): void {
  if (entry.handovers === undefined || entry.handovers.length === 0) return;
  const board = new HandoverBoard(ctx.layout.groupDir);
  const byId = new Map(entry.records.map((r) => [r.id, r]));
  const rowid = ctx.db.db.prepare('SELECT rowid AS rowid FROM records WHERE id = ?');
  for (const { hid, units } of entry.handovers) {
    // Not waiting any more: it had its answer from the leader (which died later), or it died.
    if (!board.isWaiting(hid)) continue;
    let answer: HandoverOutcome;
    if (outcome.committed) {
      answer = {
        ok: true,
        results: units.map((ids) =>
          ids.map((id) => {
            const record = byId.get(id)!;
            const row = rowid.get(id) as { rowid: number } | undefined;
            return {
              ok: true as const,
              id,
              rowid: row?.rowid ?? 0,
              kind: record.kind,
              path: record.path,
              commit: outcome.commits.get(id) ?? outcome.commit,
            };
          }),
        ),
      };
    } else {
      answer = {
        ok: false,
        retry: true,
        error: {
          code: 'IO_ERROR',
          message: `the writer (pid ${entry.owner.pid}) that took these records into its group commit died before its commit point, and recovery rolled the group back; nothing of it was stored`,
          exitCode: 1,
        },
      };
    }
    board.answer(hid, answer);
  }
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
