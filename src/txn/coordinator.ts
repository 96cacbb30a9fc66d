// The transaction coordinator: drives the participants through the order of DESIGN.md and,
// when any step fails, undoes the steps already taken in reverse.
//
//   journal -> files -> rows (open) -> git objects -> main moved (commit point) -> index
//           -> SQLite COMMIT -> journal removed

import fs from 'node:fs';
import { newId } from '../record/validate.js';
import { recordTarget } from '../store/layout.js';
import type { RecordResult, RenderedRecord } from '../record/types.js';
import { LessonsError, TransactionError } from '../errors/index.js';
import { FilesParticipant } from '../participants/files.js';
import { GitParticipant } from '../participants/git.js';
import { SqliteParticipant } from '../participants/sqlite.js';
import { checkpoint } from './faults.js';
import type { OnProgress } from '../util/progress.js';
import type { JournalEntry } from './journal.js';
import type { Participant, Transaction, WriteContext } from './types.js';

/** How many record ids a commit message lists as trailers; the rest are counted. */
const MAX_ID_TRAILERS = 50;

export function commitMessage(
  records: readonly RenderedRecord[],
  txid: string,
  subject?: string,
): string {
  const first = records[0]!.record;
  const head =
    subject ??
    (records.length === 1
      ? `${first.kind}: ${first.title}`
      : `lessons: record ${records.length} records`);
  const trailers = records.slice(0, MAX_ID_TRAILERS).map((r) => `Lessons-Id: ${r.record.id}`);
  if (records.length > MAX_ID_TRAILERS) trailers.push(`Lessons-Count: ${records.length}`);
  trailers.push(`Lessons-Txid: ${txid}`);
  return `${head}\n\n${trailers.join('\n')}\n`;
}

/**
 * Store `records` as one transaction: one commit, all rows, all files; or nothing at all.
 * The caller holds the writers' lock and has run recovery.
 */
export async function runTransaction(
  ctx: WriteContext,
  records: readonly RenderedRecord[],
  now: Date,
  subject?: string,
  onProgress?: OnProgress,
): Promise<RecordResult[]> {
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
    sqlite.attachCommit(txn);
    await checkpoint('objects');

    ctx.lock.assertHeld();
    await git.commit(txn);
    await checkpoint('commit');
    await sqlite.commit();
  } catch (error) {
    await rollback(ctx, txn, started, journaled, error);
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

async function rollback(
  ctx: WriteContext,
  txn: Transaction,
  started: readonly Participant[],
  journaled: boolean,
  error: unknown,
): Promise<never> {
  const failures: unknown[] = [];
  for (const participant of [...started].reverse()) {
    try {
      await participant.rollback(txn);
    } catch (undoError) {
      failures.push(undoError);
    }
  }
  if (failures.length === 0 && journaled) ctx.journal.remove(txn.txid);
  if (failures.length > 0) {
    throw new TransactionError(
      'ROLLBACK_INCOMPLETE',
      `the transaction failed (${describe(error)}) and could not be fully undone (${failures.map(describe).join('; ')}). ` +
        'Nothing is reported as stored; run `lessons recover` to finish the undo.',
      { cause: error, data: { txid: txn.txid } },
    );
  }
  if (error instanceof LessonsError) throw error;
  throw new TransactionError(
    'IO_ERROR',
    `the transaction failed and was rolled back, nothing was stored: ${describe(error)}`,
    {
      cause: error,
      data: { txid: txn.txid },
    },
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
