// The transaction coordinator: drives the participants through the order of DESIGN.md, only
// through their interface, and when any step fails, makes the abort durable and undoes.
//
//   journal -> prepare: files (temp files) -> rows (open) -> git objects
//           -> commit, holding index.lock: main moved (the commit point) -> files in place
//              -> .git/index
//           -> SQLite COMMIT -> journal removed

import { LessonsError, TransactionError } from '../errors/index.js';
import { FilesParticipant } from '../participants/files.js';
import { GitIndexParticipant } from '../participants/git-index.js';
import { GitParticipant } from '../participants/git.js';
import { SqliteParticipant } from '../participants/sqlite.js';
import type { Participant, Transaction, Unit, WriteContext } from '../participants/types.js';
import type { RecordResult, RenderedRecord } from '../record/types.js';
import type { JournalEntry, JournalHandover } from '../resources/journal.js';
import { recordTargetState } from '../resources/layout.js';
import { checkpoint } from '../util/faults.js';
import type { OnProgress } from '../util/progress.js';
import { monotonicRecords } from './clock.js';
import { commitMessage } from './message.js';
import { newId } from '../record/ids.js';

/** One caller's records, to become one commit of the transaction. */
export interface UnitInput {
  readonly records: readonly RenderedRecord[];
  /** The commit's subject. @default "<kind>: <title>", or "lessons: record <n> records" */
  readonly subject?: string | undefined;
  /** Group commit: the handover (resources/handover.ts) this unit came from, journaled. */
  readonly handover?: string | undefined;
}

export interface TransactionOptions {
  /** Commit time. */
  readonly now: Date;
  readonly onProgress?: OnProgress | undefined;
  /**
   * Called once everything is stored (SQLite committed), before the journal entry goes, with
   * each unit's results: a group's leader answers its waiters here, so that a crash after it
   * leaves either their answers or the entry recovery answers from. Must not throw.
   */
  readonly onCommitted?: ((results: RecordResult[][]) => void) | undefined;
}

/**
 * The order in which a failed transaction is undone: it frees space before it needs any (a
 * full disk is a common reason to be here). SQLite ROLLBACK, the files removed, main moved
 * back (a new lock file), the index restored.
 */
const UNDO_ORDER: readonly Participant['name'][] = ['sqlite', 'files', 'git', 'index'];

/**
 * Store the units as one transaction: one commit per unit, chained; every row and file; or
 * nothing at all. The caller holds the writers' lock and has run recovery. Returns each
 * unit's results, in order.
 */
export async function runTransaction(
  ctx: WriteContext,
  inputs: readonly UnitInput[],
  options: TransactionOptions,
): Promise<RecordResult[][]> {
  // Under the lock: ids after the newest record at HEAD, whatever this writer's clock says.
  const all = monotonicRecords(
    ctx,
    inputs.flatMap((u) => u.records),
  );
  const txid = newId();
  let at = 0;
  const units: Unit[] = inputs.map((input) => {
    const records = all.slice(at, (at += input.records.length));
    return { records, message: commitMessage(records, txid, input.subject) };
  });
  const txn: Transaction = {
    txid,
    units,
    records: all,
    onProgress: options.onProgress,
    parent: ctx.repo.head(),
    time: options.now,
    rowids: new Map(),
  };
  const files = new FilesParticipant(ctx);
  const sqlite = new SqliteParticipant(ctx);
  const git = new GitParticipant(ctx);
  const index = new GitIndexParticipant(ctx);
  const started: Participant[] = [];
  let journaled = false;

  // Refuse unusable paths before anything is written.
  const verified = new Set<string>();
  for (const record of all) {
    if (recordTargetState(ctx.layout, record.path, verified).exists) {
      throw new TransactionError(
        'FILE_EXISTS',
        `${record.path} already exists in the store; nothing was stored`,
      );
    }
  }
  await checkpoint('locked');
  try {
    ctx.journal.write(journalEntry(ctx, txn, groupHandovers(inputs, units)));
    journaled = true;
    await checkpoint('journal');

    for (const [participant, step] of [
      [files, 'files'],
      [sqlite, 'insert'],
      [git, 'objects'],
      [index, undefined],
    ] as const) {
      started.push(participant);
      await participant.prepare(txn);
      if (step !== undefined) await checkpoint(step);
    }

    // Native git takes index.lock before it moves a ref, and so do we: from the move of main
    // to the new index, no git of a person's can slip in between.
    await ctx.gitIndex.acquire(ctx.deadline, async (held) => {
      txn.index = held;
      try {
        await git.commit(txn);
        await checkpoint('ref');
        await files.commit();
        await index.commit(txn);
      } finally {
        txn.index = undefined;
      }
    });
    await checkpoint('index');
    await checkpoint('commit');
    await sqlite.commit(txn);
  } catch (error) {
    await rollback(ctx, txn, started, journaled, error);
  }
  // Stored in all three. Nothing from here on may turn that into a failure: a journal entry
  // that cannot be removed is rolled forward (a no-op) by the next recovery.
  await checkpoint('committed');
  const results = units.map((unit) =>
    unit.records.map((r) => ({
      ok: true as const,
      id: r.record.id,
      rowid: txn.rowids.get(r.record.id)!,
      kind: r.record.kind,
      path: r.path,
      commit: unit.commit!,
    })),
  );
  try {
    options.onCommitted?.(results);
  } catch {
    // the journal entry stays: recovery answers in its stead
    return results;
  }
  await checkpoint('answered');
  try {
    ctx.journal.remove(txid);
  } catch {
    // left for recovery
  }
  await checkpoint('done');
  return results;
}

/** Each handover of the group with its units' final record ids (units of one handover are adjacent). */
function groupHandovers(inputs: readonly UnitInput[], units: readonly Unit[]): JournalHandover[] {
  const out: { hid: string; units: string[][] }[] = [];
  inputs.forEach((input, i) => {
    if (input.handover === undefined) return;
    const ids = units[i]!.records.map((r) => r.record.id);
    const last = out.at(-1);
    if (last?.hid === input.handover) last.units.push(ids);
    else out.push({ hid: input.handover, units: [ids] });
  });
  return out;
}

/** The intent record: every record with its content hashes, and the commit main was at. */
function journalEntry(
  ctx: WriteContext,
  txn: Transaction,
  handovers: readonly JournalHandover[],
): JournalEntry {
  return {
    version: 1,
    txid: txn.txid,
    owner: ctx.lock.identity,
    created: new Date().toISOString(),
    parent: txn.parent ?? null,
    records: txn.records.map((r) => ({
      id: r.record.id,
      kind: r.record.kind,
      path: r.path,
      sha256: r.sha256,
      blobOid: r.blobOid,
    })),
    ...(handovers.length === 0 ? {} : { handovers }),
  };
}

/**
 * Undo a transaction that failed. The decision comes first and is made durable (the journal
 * entry marked aborted in place), so that whatever the undo cannot do, recovery does, and never
 * rolls the transaction forward: exit 1 means nothing stored. Then each participant that
 * started is rolled back, in UNDO_ORDER.
 */
async function rollback(
  ctx: WriteContext,
  txn: Transaction,
  started: readonly Participant[],
  journaled: boolean,
  error: unknown,
): Promise<never> {
  let decided = !journaled;
  let decisionError: unknown;
  if (journaled) {
    try {
      ctx.journal.markAborted(txn.txid);
      decided = true;
    } catch (markError) {
      decisionError = markError;
    }
  }
  await checkpoint('aborted');
  const failures: unknown[] = [];
  let untidy = false;
  for (const name of UNDO_ORDER) {
    const participant = started.find((p) => p.name === name);
    if (participant === undefined) continue;
    try {
      await participant.rollback(txn);
    } catch (undoError) {
      if (participant.essential) failures.push(undoError);
      else untidy = true;
    }
  }
  if (failures.length === 0 && !untidy && journaled) {
    try {
      ctx.journal.remove(txn.txid);
    } catch {
      // an aborted entry left behind is rolled back (a no-op) by the next recovery
    }
  }
  if (failures.length > 0 && !decided) {
    throw new TransactionError(
      'ROLLBACK_INCOMPLETE',
      `the transaction failed (${describe(error)}), could not be fully undone (${failures.map(describe).join('; ')}) ` +
        `and the decision to abort could not be recorded (${describe(decisionError)}). ` +
        'Run `lessons recover`: it keeps the record only if its commit is on main.',
      { cause: error, data: { txid: txn.txid } },
    );
  }
  if (failures.length > 0) {
    throw new TransactionError(
      'ROLLBACK_INCOMPLETE',
      `the transaction failed (${describe(error)}) and was aborted; nothing is stored. Part of the undo could not be done yet ` +
        `(${failures.map(describe).join('; ')}): the abort is recorded in the journal, and the next command, or \`lessons recover\`, finishes it.`,
      { cause: error, data: { txid: txn.txid, aborted: true } },
    );
  }
  const tidy = untidy
    ? ' (.git/index could not be restored yet; the next command, or `lessons recover`, does it)'
    : '';
  if (error instanceof LessonsError) {
    error.message += tidy;
    throw error;
  }
  throw new TransactionError(
    'IO_ERROR',
    `the transaction failed and was rolled back, nothing was stored: ${describe(error)}${tidy}`,
    { cause: error, data: { txid: txn.txid } },
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
