// The transaction coordinator: drives the participants through the order of DESIGN.md and,
// when any step fails, undoes the steps already taken in reverse.
//
//   journal -> files -> rows (open) -> git objects -> main moved (commit point) -> index
//           -> SQLite COMMIT -> journal removed

import fs from 'node:fs';
import { newId } from '../record/validate.js';
import { recordTarget } from '../resources/layout.js';
import type { RecordResult, RenderedRecord } from '../record/types.js';
import { LessonsError, TransactionError } from '../errors/index.js';
import { FilesParticipant } from '../participants/files.js';
import { GitParticipant } from '../participants/git.js';
import { SqliteParticipant } from '../participants/sqlite.js';
import { monotonicRecords } from './clock.js';
import { commitMessage } from './message.js';
import { checkpoint } from '../util/faults.js';
import type { OnProgress } from '../util/progress.js';
import type { JournalEntry } from '../resources/journal.js';
import type { Participant, Transaction, WriteContext } from '../participants/types.js';

/**
 * Store `records` as one transaction: one commit, all rows, all files; or nothing at all.
 * The caller holds the writers' lock and has run recovery.
 */
export async function runTransaction(
  ctx: WriteContext,
  given: readonly RenderedRecord[],
  now: Date,
  subject?: string,
  onProgress?: OnProgress,
): Promise<RecordResult[]> {
  // Under the lock: ids after the newest record at HEAD, whatever this writer's clock says.
  const records = monotonicRecords(ctx, given);
  const txid = newId();
  const txn: Transaction = {
    txid,
    records,
    onProgress,
    parent: ctx.repo.head(),
    message: commitMessage(records, txid, subject),
    time: now,
    rowids: new Map(),
  };
  const files = new FilesParticipant(ctx);
  const sqlite = new SqliteParticipant(ctx);
  const git = new GitParticipant(ctx);
  const started: Participant[] = [];
  let journaled = false;

  // Refuse unusable paths before anything is written.
  const verified = new Set<string>();
  for (const record of records) {
    if (fs.existsSync(recordTarget(ctx.layout, record.path, verified))) {
      throw new TransactionError(
        'FILE_EXISTS',
        `${record.path} already exists in the store; nothing was stored`,
      );
    }
  }
  await checkpoint('locked');
  try {
    const entry: JournalEntry = {
      version: 1,
      txid,
      owner: ctx.lock.identity,
      created: new Date().toISOString(),
      parent: txn.parent ?? null,
      records: records.map((r) => ({
        id: r.record.id,
        kind: r.record.kind,
        path: r.path,
        sha256: r.sha256,
        blobOid: r.blobOid,
      })),
    };
    ctx.journal.write(entry);
    journaled = true;
    await checkpoint('journal');

    started.push(files);
    await files.prepare(txn);
    await checkpoint('files');

    started.push(sqlite);
    await sqlite.prepare(txn);
    await checkpoint('insert');

    started.push(git);
    await git.prepare(txn);
    await checkpoint('objects');

    ctx.lock.assertHeld();
    await git.commit(txn);
    // The rows name the commit that holds them: the final one, if main moved under us.
    sqlite.attachCommit(txn);
    await checkpoint('commit');
    await sqlite.commit();
  } catch (error) {
    await rollback(ctx, txn, { files, sqlite, git }, started, journaled, error);
  }
  // Stored in all three. Nothing from here on may turn that into a failure: a journal entry
  // that cannot be removed is rolled forward (a no-op) by the next recovery.
  await checkpoint('committed');
  try {
    ctx.journal.remove(txid);
  } catch {
    // left for recovery
  }
  await checkpoint('done');

  return records.map((r) => ({
    ok: true as const,
    id: r.record.id,
    rowid: txn.rowids.get(r.record.id)!,
    kind: r.record.kind,
    path: r.path,
    commit: txn.commit!,
  }));
}

/**
 * Undo a transaction that failed. The decision comes first and is made durable (the journal
 * entry marked aborted in place), so that whatever the undo cannot do, recovery does, and
 * never rolls the transaction forward: exit 1 means nothing stored. The undo then goes in an
 * order that frees space before it needs any (a full disk is a common reason to be here):
 * SQLite ROLLBACK, the files unlinked, main moved back (a new lock file), the index restored
 * (best effort: recovery rebuilds it).
 */
async function rollback(
  ctx: WriteContext,
  txn: Transaction,
  parts: { files: FilesParticipant; sqlite: SqliteParticipant; git: GitParticipant },
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
  const undo = async (participant: Participant, step: () => Promise<void>): Promise<void> => {
    if (!started.includes(participant)) return;
    try {
      await step();
    } catch (undoError) {
      failures.push(undoError);
    }
  };
  await undo(parts.sqlite, () => parts.sqlite.rollback());
  await undo(parts.files, () => parts.files.rollback());
  await undo(parts.git, () => parts.git.rollback(txn));
  let indexLeft = false;
  await undo(parts.git, async () => {
    try {
      await parts.git.restoreIndex();
    } catch {
      indexLeft = true;
    }
  });
  if (failures.length === 0 && !indexLeft && journaled) {
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
  const tidy = indexLeft
    ? ' (.git/index could not be restored yet; the next command, or `lessons recover`, does it)'
    : '';
  if (error instanceof LessonsError) {
    error.message += tidy;
    throw error;
  }
  throw new TransactionError(
    'IO_ERROR',
    `the transaction failed and was rolled back, nothing was stored: ${describe(error)}${tidy}`,
    {
      cause: error,
      data: { txid: txn.txid },
    },
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
