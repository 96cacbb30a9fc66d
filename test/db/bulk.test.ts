// insertMany fills the FTS5 and tag tables in bulk for a large batch: the index it leaves must
// be the one that inserting row by row through the triggers leaves, for any rows.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BULK_FROM, Database, type NewRow } from '../../src/db/database.js';

const word = fc.constantFrom('cache', 'retry', 'naïve', 'Über', 'déjà', 'lock', '🚀', 'x-y', 'q"t');
const text = fc.array(word, { minLength: 1, maxLength: 8 }).map((w) => w.join(' '));
const row = fc.record({
  title: text,
  body: text,
  domain: fc.constantFrom('infra', 'ci', 'ops'),
  tags: fc.array(fc.constantFrom('cache', 'retry', 'lock', 'dns'), { maxLength: 4 }),
  severity: fc.integer({ min: 1, max: 5 }),
});

type Drawn = typeof row extends fc.Arbitrary<infer T> ? T : never;

function rowsOf(drawn: readonly Drawn[], offset: number): NewRow[] {
  return drawn.map((d, i) => ({
    id: `01K${String(offset + i).padStart(23, '0')}`,
    kind: 'failure',
    path: `failures/2026/01/${offset + i}-r.md`,
    title: d.title,
    domain: d.domain,
    tags: JSON.stringify(d.tags),
    created: '2026-01-01T00:00:00.000Z',
    severity: d.severity,
    source: null,
    confidence: null,
    source_id: null,
    body: d.body,
    imported_from: null,
    blob_oid: 'a'.repeat(40),
    commit_oid: '',
    txid: `t${offset}`,
    validations: 0,
    violations: 0,
    golden: 0,
    retired: 0,
    retired_reason: null,
    superseded_by: null,
  }));
}

/** Everything a reader can see of the index, and FTS5's own integrity check. */
function snapshot(database: Database) {
  const { db } = database;
  db.prepare("INSERT INTO records_fts (records_fts) VALUES ('integrity-check')").run();
  const words = ['cache', 'retry', 'naive', 'uber', 'deja', 'lock', 'x', 'y', 'q', 'infra', 'dns'];
  return {
    schema: db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all(),
    records: db.prepare('SELECT * FROM records ORDER BY rowid').all(),
    tags: db.prepare('SELECT * FROM record_tags ORDER BY rowid_ref, tag').all(),
    matches: words.map((w) =>
      db
        .prepare(
          'SELECT rowid, round(bm25(records_fts), 9) AS score FROM records_fts WHERE records_fts MATCH ? ORDER BY rowid',
        )
        .all(`"${w}"`),
    ),
  };
}

function fill(batches: readonly NewRow[][], bulk: boolean): Database {
  const database = Database.openInMemory();
  for (const rows of batches) {
    database.begin();
    const rowids = bulk ? database.insertMany(rows) : rows.map((r) => database.insert(r));
    expect(rowids.every((id) => id > 0)).toBe(true);
    database.commit();
  }
  return database;
}

describe('insertMany', () => {
  it('leaves the same rows, tags and full-text index as inserting row by row', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.array(row, { maxLength: 5 }),
            fc.array(row, { minLength: BULK_FROM, maxLength: BULK_FROM * 3, size: 'max' }),
          ),
          { minLength: 1, maxLength: 3 },
        ),
        (drawn) => {
          let offset = 0;
          const batches = drawn.map((d) => {
            const rows = rowsOf(d, offset);
            offset += d.length;
            return rows;
          });
          const one = fill(batches, false);
          const many = fill(batches, true);
          try {
            expect(snapshot(many)).toEqual(snapshot(one));
          } finally {
            one.close();
            many.close();
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('copies a complete index file into memory as it is, and refuses one of a newer schema', () => {
    const rows = rowsOf(fc.sample(row, BULK_FROM), 0);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lessons-copy-'));
    const file = path.join(dir, 'index.db');
    const { database: written } = Database.openForWrite(file);
    written.fillEmpty(rows);
    written.db.pragma('journal_mode = DELETE');
    const expected = snapshot(written);
    written.close();
    const copy = Database.copyIntoMemory(file);
    fs.rmSync(dir, { recursive: true });
    try {
      expect(snapshot(copy)).toEqual(expected);
      expect(copy.db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      copy.close();
    }
    const newer = fs.mkdtempSync(path.join(os.tmpdir(), 'lessons-copy-'));
    const { database: ahead } = Database.openForWrite(path.join(newer, 'index.db'));
    ahead.db.prepare("UPDATE meta SET value = '999' WHERE key = 'schema_version'").run();
    ahead.db.pragma('journal_mode = DELETE');
    ahead.close();
    expect(() => Database.copyIntoMemory(path.join(newer, 'index.db'))).toThrow(/newer/);
    fs.rmSync(newer, { recursive: true });
  });

  it('fills an empty index (indexes made after the rows) as inserting row by row does', () => {
    const rows = rowsOf(fc.sample(row, BULK_FROM * 4), 0);
    const one = fill([rows], false);
    const fresh = Database.openInMemory();
    fresh.fillEmpty(rows);
    try {
      expect(snapshot(fresh)).toEqual(snapshot(one));
      expect(fresh.db.pragma('integrity_check', { simple: true })).toBe('ok');
      // The query planner has its indexes back.
      const plan = fresh.db
        .prepare("EXPLAIN QUERY PLAN SELECT * FROM records WHERE txid = 't0'")
        .all() as { detail: string }[];
      expect(plan.map((p) => p.detail).join()).toContain('records_txid');
    } finally {
      one.close();
      fresh.close();
    }
  });

  it('restores the triggers on rollback and leaves nothing of the batch', () => {
    const database = fill([rowsOf(fc.sample(row, 10), 0)], false);
    const before = snapshot(database);
    database.begin();
    database.insertMany(rowsOf(fc.sample(row, BULK_FROM * 2), 10));
    database.rollback();
    expect(snapshot(database)).toEqual(before);
    // The triggers work again for the next single insert.
    database.begin();
    const rowid = database.insert(rowsOf([{ ...fc.sample(row, 1)[0]!, title: 'zebra' }], 500)[0]!);
    database.commit();
    expect(
      database.db.prepare("SELECT rowid FROM records_fts WHERE records_fts MATCH 'zebra'").all(),
    ).toEqual([{ rowid }]);
    database.close();
  });

  it('goes through every trigger, row by row, when one has no bulk equivalent', () => {
    const database = Database.openInMemory();
    database.db.exec(`CREATE TABLE inserted (rowid_ref INTEGER);
      CREATE TRIGGER records_log AFTER INSERT ON records BEGIN
        INSERT INTO inserted VALUES (new.rowid);
      END;`);
    database.begin();
    const rowids = database.insertMany(rowsOf(fc.sample(row, BULK_FROM * 2), 0));
    database.commit();
    expect(database.db.prepare('SELECT rowid_ref FROM inserted ORDER BY rowid_ref').all()).toEqual(
      rowids.map((r) => ({ rowid_ref: r })),
    );
    expect(database.db.prepare('SELECT count(*) AS n FROM records_fts').get()).toEqual({
      n: BULK_FROM * 2,
    });
    database.close();
  });

  it('refuses a row SQLite did not insert, naming it, rather than report a rowid', () => {
    const database = Database.openInMemory();
    const [first, second] = rowsOf(fc.sample(row, 2), 0);
    database.begin();
    const rowid = database.insert(first!);
    // A trigger that drops the row: the statement succeeds and changes nothing.
    database.db.exec(
      'CREATE TRIGGER records_drop BEFORE INSERT ON records BEGIN SELECT RAISE(IGNORE); END;',
    );
    expect(() => database.insert(second!)).toThrow(
      expect.objectContaining({
        code: 'SQLITE_ROWID',
        message: expect.stringContaining(second!.id),
      }),
    );
    database.commit();
    expect(database.db.prepare('SELECT rowid, id FROM records').all()).toEqual([
      { rowid, id: first!.id },
    ]);
    database.close();
  });
});
