// The SQLite participant: the rows of the index, inserted in one open transaction that
// commits only after the git ref has moved.

import { rowFor, rowFromRecord } from '../db/database.js';
import { parseRecord } from '../record/markdown.js';
import type { JournalEntry } from '../resources/journal.js';
import type { Outcome, Participant, Transaction, WriteContext } from './types.js';

export class SqliteParticipant implements Participant {
  readonly name = 'sqlite';
  private readonly ctx: WriteContext;

  constructor(ctx: WriteContext) {
    this.ctx = ctx;
  }

  async prepare(txn: Transaction): Promise<void> {
    const { db } = this.ctx;
    db.begin();
    for (const record of txn.records) {
      txn.rowids.set(record.record.id, db.insert(rowFor(record, txn.txid, '')));
      txn.onProgress?.(txn.rowids.size, txn.records.length, 'indexing rows');
    }
  }

  /** Called once the commit object exists: rows name the commit that holds them. */
  attachCommit(txn: Transaction): void {
    this.ctx.db.setCommitForTxid(txn.txid, txn.commit!);
  }

  async commit(): Promise<void> {
    this.ctx.db.commit();
  }

  async rollback(): Promise<void> {
    this.ctx.db.rollback();
  }

  /** Rolled forward: a row for every record, built from its committed blob. Back: no rows. */
  async recover(entry: JournalEntry, outcome: Outcome): Promise<void> {
    const { db, repo } = this.ctx;
    db.begin();
    try {
      if (outcome.committed) {
        for (const record of entry.records) {
          if (db.rowById(record.id) !== undefined) continue;
          const parsed = parseRecord(await repo.objects.readTyped(record.blobOid, 'blob'));
          db.insert(rowFromRecord(parsed, record.path, record.blobOid, entry.txid, outcome.commit));
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
