// The SQLite participant: the rows of the index, inserted in one open transaction that
// commits only after main moved, so that readers never see a row whose commit is not on main.

import { eventRow, rowFor, rowFromRecord } from '../db/database.js';
import { refold } from '../db/refold.js';
import { parseItem } from '../record/stored.js';
import type { LessonRecord } from '../record/types.js';
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

  /**
   * BEGIN IMMEDIATE and insert every row, checking each rowid; an event's row, and its target
   * folded again. The transaction stays open.
   */
  async prepare(txn: Transaction): Promise<void> {
    const { db } = this.ctx;
    db.begin();
    const records = new Map<string, LessonRecord>();
    const targets = new Set<string>();
    // Records in bulk (db.insertMany), then each event, then the fold of every event's target.
    const plain = txn.records.filter((rendered) => rendered.record.kind !== 'event');
    const rowids = db.insertMany(
      plain.map((rendered) => rowFor(rendered, txn.txid, '')),
      (done) => txn.onProgress?.(done, txn.records.length, 'indexing rows'),
    );
    plain.forEach((rendered, i) => {
      txn.rowids.set(rendered.record.id, rowids[i]!);
      records.set(rendered.record.id, rendered.record as LessonRecord);
    });
    // Before any fold below: a fold that changes a row's texts takes its mark away again.
    db.markScanned(plain.map((rendered, i) => [rowids[i]!, rendered.scanned]));
    for (const rendered of txn.records) {
      const item = rendered.record;
      if (item.kind !== 'event') continue;
      txn.rowids.set(
        item.id,
        db.insertEvent(eventRow(item, rendered.path, rendered.blobOid, txn.txid, '')),
      );
      targets.add(item.target);
    }
    for (const target of targets) await refold(db, this.ctx.repo, target, records.get(target));
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
      await this.refoldSurvivors(
        txn.records.flatMap((r) => (r.record.kind === 'event' ? [r.record.target] : [])),
      );
      db.commit();
    } catch (error) {
      db.rollback();
      throw error;
    }
    this.committed = false;
  }

  /** Fold again the targets whose events were removed (a target removed with them is gone). */
  private async refoldSurvivors(targets: readonly string[]): Promise<void> {
    const { db, repo } = this.ctx;
    for (const target of new Set(targets))
      if (db.rowById(target) !== undefined) await refold(db, repo, target);
  }

  /** Committed: a row for every record, built from its committed blob. Not: no rows. */
  async recover(entry: JournalEntry, outcome: Outcome): Promise<void> {
    const { db, repo } = this.ctx;
    db.begin();
    try {
      if (outcome.committed) {
        const targets = new Set<string>();
        for (const record of entry.records) {
          if (db.rowById(record.id) !== undefined || db.eventById(record.id) !== undefined)
            continue;
          const parsed = parseItem(
            record.path,
            await repo.objects.readTyped(record.blobOid, 'blob'),
          );
          const commit = outcome.commits.get(record.id) ?? outcome.commit;
          if (parsed.kind === 'event') {
            db.insertEvent(eventRow(parsed, record.path, record.blobOid, entry.txid, commit));
            targets.add(parsed.target);
          } else db.insert(rowFromRecord(parsed, record.path, record.blobOid, entry.txid, commit));
        }
        for (const target of targets) await refold(db, repo, target);
      } else {
        const targets = db.eventTargetsOfTxid(entry.txid);
        db.deleteByTxid(entry.txid);
        await this.refoldSurvivors(targets);
      }
      db.commit();
    } catch (error) {
      db.rollback();
      throw error;
    }
  }
}
