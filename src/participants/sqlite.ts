// The SQLite participant: the rows of the index, inserted in one open transaction that
// commits only after main moved, so that readers never see a row whose commit is not on main.

import { rowFor, rowFromRecord } from '../db/database.js';
import { parseRecord } from '../record/markdown.js';
import type { JournalEntry } from '../resources/journal.js';
import type { Outcome, Participant, Transaction, WriteContext } from './types.js';

export class SqliteParticipant implements Participant {
  readonly name = 'sqlite';
  readonly essential = true;
  private readonly ctx: WriteContext;
  private committed = false;

  constructor(ctx: WriteContext) {
    this.ctx = ctx;
  }

  /** BEGIN IMMEDIATE and insert every row, checking each rowid; the transaction stays open. */
  async prepare(txn: Transaction): Promise<void> {
    const { db } = this.ctx;
    db.begin();
    const rowids = db.insertMany(
      txn.records.map((record) => rowFor(record, txn.txid, '')),
      (done) => txn.onProgress?.(done, txn.records.length, 'indexing rows'),
    );
    txn.records.forEach((record, i) => txn.rowids.set(record.record.id, rowids[i]!));
  }

  /**
   * Name in each row the commit that holds it (known only now: main may have moved under the
   * transaction and its commits been rebuilt), then COMMIT.
   */
  async commit(txn: Transaction): Promise<void> {
    const { db } = this.ctx;
    if (txn.units.length === 1) db.setCommitForTxid(txn.txid, txn.units[0]!.commit!);
    else
      for (const unit of txn.units)
        db.setCommitForRecords(
          unit.records.map((r) => r.record.id),
          unit.commit!,
        );
    db.commit();
    this.committed = true;
  }

  /** ROLLBACK the open transaction; once committed, delete its rows in a transaction of their own. */
  async rollback(txn: Transaction): Promise<void> {
    const { db } = this.ctx;
    db.rollback();
    if (!this.committed) return;
    db.begin();
    try {
      db.deleteByTxid(txn.txid);
      db.commit();
    } catch (error) {
      db.rollback();
      throw error;
    }
    this.committed = false;
  }

  /** Committed: a row for every record, built from its committed blob. Not: no rows. */
  async recover(entry: JournalEntry, outcome: Outcome): Promise<void> {
    const { db, repo } = this.ctx;
    db.begin();
    try {
      if (outcome.committed) {
        for (const record of entry.records) {
          if (db.rowById(record.id) !== undefined) continue;
          const parsed = parseRecord(await repo.objects.readTyped(record.blobOid, 'blob'));
          const commit = outcome.commits.get(record.id) ?? outcome.commit;
          db.insert(rowFromRecord(parsed, record.path, record.blobOid, entry.txid, commit));
        }
      } else {
        db.deleteByTxid(entry.txid);
      }
      db.commit();
    } catch (error) {
      db.rollback();
      throw error;
    }
  }
}
