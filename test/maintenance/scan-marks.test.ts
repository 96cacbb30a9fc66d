// The secret scan's marks (record_scans, schema 4): a writer marks each row whose texts, as
// verify reads them, its scan found clean; verify scans the other rows only, and --deep scans
// them all. A mark must never outlive the texts it vouches for, nor the rules that scanned
// them; and an index from before the marks is migrated in place, its rows scanned as before.

import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/index.js';
import { refuseSecrets, scanFingerprint, type RowTexts } from '../../src/record/secrets.js';
import { MIGRATIONS } from '../../src/db/schema.js';
import { consistencyProblems, git, lessons, storeState, tempStore } from '../helpers/store.js';

// Assembled from pieces, so that this file holds nothing a scanner flags as a whole.
const CONNECTION = ['postgres://admin:', 's3cr3tP4ss', '@db.internal:5432/app'].join('');

/** Each record's title and the rules its row is marked with (null: unmarked), in rowid order. */
function marks(dir: string): [string, string | null][] {
  const db = new BetterSqlite3(path.join(dir, 'index.db'), { readonly: true });
  try {
    return db
      .prepare(
        `SELECT r.title, s.rules FROM records r
           LEFT JOIN record_scans s ON s.rowid_ref = r.rowid ORDER BY r.rowid`,
      )
      .raw()
      .all() as [string, string | null][];
  } finally {
    db.close();
  }
}

function sql(dir: string, statement: string): void {
  const db = new BetterSqlite3(path.join(dir, 'index.db'));
  try {
    db.exec(statement);
  } finally {
    db.close();
  }
}

/** verify's exit code, report and how many record rows its secret scan read. */
async function verify(dir: string, ...flags: string[]) {
  const result = await lessons(['--dir', dir, '--json', 'verify', ...flags], {
    env: { LESSONS_TRACE: '1' },
  });
  const scanned = /lessons-trace scan-texts (\d+)/.exec(result.stderr);
  return { ...result, scanned: scanned === null ? undefined : Number(scanned[1]) };
}

const row = (title: string, body: string): RowTexts => ({
  kind: 'failure',
  title,
  domain: 'ops',
  tags: '[]',
  body,
  source_id: null,
  imported_from: null,
});

describe('the secret scan marks', () => {
  it('are given to the rows a writer found clean, and verify scans the others only', async () => {
    const dir = tempStore();
    const rules = await scanFingerprint();
    for (const title of ['first', 'second'])
      expect(
        (await lessons(['--dir', dir, 'record-failure', '--title', title, '--domain', 'ops'])).code,
      ).toBe(0);
    // A secret a person allowed: stored, but not marked (verify judges it by its trailer).
    const allowed = await lessons([
      '--dir',
      dir,
      'record-failure',
      '--title',
      'allowed',
      '--domain',
      'ops',
      '--summary',
      `db: ${CONNECTION}`,
      '--allow-secret',
      'database-connection-string',
    ]);
    expect(allowed.code).toBe(0);
    const store = await openStore({ dir });
    await store.recordMany(
      Array.from({ length: 5 }, (_, i) => ({
        kind: 'heuristic' as const,
        rule: `rule ${i}`,
        domain: 'ops',
      })),
    );
    await store.close();
    expect(marks(dir)).toEqual([
      ['first', rules],
      ['second', rules],
      ['allowed', null],
      ...Array.from({ length: 5 }, (_, i) => [`rule ${i}`, rules]),
    ]);

    const plain = await verify(dir);
    expect(plain.code).toBe(0);
    expect(plain.json).toMatchObject({ ok: true, records: 8, findings: [] });
    expect(plain.scanned).toBe(1);
    const deep = await verify(dir, '--deep');
    expect(deep.code).toBe(0);
    expect(deep.scanned).toBe(8);
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('are not trusted from other rules: every such row is scanned again', async () => {
    const dir = tempStore();
    for (const title of ['one', 'two', 'three'])
      await lessons(['--dir', dir, 'record-failure', '--title', title, '--domain', 'ops']);
    expect((await verify(dir)).scanned).toBe(0);
    sql(dir, "UPDATE record_scans SET rules = 'rules of an older secretlint'");
    const before = storeState(dir);
    const again = await verify(dir);
    expect(again.code).toBe(0);
    expect(again.scanned).toBe(3);
    // verify is a reader: it neither marks nor unmarks.
    expect(storeState(dir)).toEqual(before);
    expect(marks(dir).every(([, r]) => r === 'rules of an older secretlint')).toBe(true);
  });

  it('go when a row’s texts change: an update, an adopted edit, any UPDATE of them', async () => {
    const dir = tempStore();
    const store = await openStore({ dir });
    const a = await store.recordFailure({ title: 'a', domain: 'ops', summary: 'first words' });
    const b = await store.recordHeuristic({ rule: 'b', domain: 'ops', explanation: 'kept' });
    await store.recordFailure({ title: 'c', domain: 'ops', summary: 'kept too' });
    const rules = await scanFingerprint();

    // A lifecycle update folds new texts into the row: its mark goes, its neighbours keep theirs.
    await store.update(a.id, { summary: 'corrected words' });
    expect(marks(dir)).toEqual([
      ['a', null],
      ['b', rules],
      ['c', rules],
    ]);
    // Counters folded in (a validation) change no text: the mark stays.
    await store.validate(b.id);
    expect(marks(dir)[1]).toEqual(['b', rules]);
    await store.close();

    // A person's edit, adopted by cleanup: the row is replaced with the file's texts.
    const file = path.join(dir, b.path);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('kept', 'kept, edited by hand'));
    const cleanup = await lessons(['--dir', dir, 'cleanup', '--grace', '0s']);
    expect(cleanup.code).toBe(0);
    expect(marks(dir)[1]).toEqual(['b', null]);

    // By hand in SQLite: changing a text unmarks; changing anything else does not.
    sql(dir, "UPDATE records SET severity = 5 WHERE title = 'c'");
    expect(marks(dir)[2]).toEqual(['c', rules]);
    sql(dir, "UPDATE records SET body = body || ' more' WHERE title = 'c'");
    expect(marks(dir)[2]).toEqual(['c', null]);
    // And a row that goes takes its mark with it.
    sql(dir, "DELETE FROM records WHERE title = 'c'");
    const db = new BetterSqlite3(path.join(dir, 'index.db'), { readonly: true });
    expect(db.prepare('SELECT count(*) FROM record_scans').pluck().get()).toBe(0);
    db.close();
  });

  it('are not given to a row whose source id the store resolved from the prefix scanned', async () => {
    const dir = tempStore();
    const rules = await scanFingerprint();
    const store = await openStore({ dir });
    const failure = await store.recordFailure({ title: 'flaky', domain: 'ci' });
    const prefix = failure.id.slice(0, 12);
    await store.recordHeuristic({
      rule: 'by prefix',
      domain: 'ci',
      source: 'failure',
      sourceId: prefix,
    });
    await store.recordHeuristic({
      rule: 'by full id',
      domain: 'ci',
      source: 'failure',
      sourceId: failure.id,
    });
    await store.close();
    // The scan read the prefix; the row holds the full id: no mark vouches for it.
    expect(marks(dir)).toEqual([
      ['flaky', rules],
      ['by prefix', null],
      ['by full id', rules],
    ]);
    const after = await verify(dir);
    expect(after.code).toBe(0);
    expect(after.scanned).toBe(1);
  });

  it('are kept by reindex for rows whose texts it rebuilt unchanged, and only for them', async () => {
    const dir = tempStore();
    const rules = await scanFingerprint();
    const store = await openStore({ dir });
    const made = await store.recordMany(
      ['one', 'two', 'three', 'four'].map((title) => ({
        kind: 'failure' as const,
        title,
        domain: 'ops',
        summary: `${title} went wrong`,
      })),
    );
    await store.close();
    // A person commits a secret into one record with native git, behind the index's back (its
    // row keeps the old texts and their mark), and a second record's mark is from other rules.
    const file = path.join(dir, made[1]!.path);
    fs.writeFileSync(
      file,
      fs.readFileSync(file, 'utf8').replace('two went wrong', `two went wrong: ${CONNECTION}`),
    );
    git(dir, 'commit', '-q', '-am', 'by hand');
    sql(dir, "UPDATE record_scans SET rules = 'older rules' WHERE rowid_ref = 3");
    expect((await verify(dir)).scanned).toBe(1);

    const reindexed = await lessons(['--dir', dir, 'reindex']);
    expect(reindexed.code).toBe(0);
    expect(marks(dir)).toEqual([
      ['one', rules],
      ['two', null],
      ['three', 'older rules'],
      ['four', rules],
    ]);
    // verify scans the two rows without a current mark, and finds the committed secret.
    const after = await verify(dir);
    expect(after.scanned).toBe(2);
    expect(after.code).toBe(1);
    expect(after.json).toMatchObject({
      ok: false,
      findings: [expect.objectContaining({ path: made[1]!.path })],
    });
    // Another reindex keeps what the first kept.
    expect((await lessons(['--dir', dir, 'reindex'])).code).toBe(0);
    expect(marks(dir).map(([, r]) => r)).toEqual([rules, null, 'older rules', rules]);
    expect(git(dir, 'status', '--porcelain')).toBe('');
  });

  it('are not given to a row a match touched, even one that began in the row before', async () => {
    const rules = await scanFingerprint();
    const input = { kind: 'failure' as const, title: 'input', domain: 'ops' };
    const { marks: given } = await refuseSecrets([input], false, [
      row('clean', 'nothing here'),
      row('leaked', `db: ${CONNECTION}`),
      // An AWS account id whose name ends one row and whose number begins the next.
      row('named', 'see aws_account_id ='),
      row('1234-5678-9012 is the number', 'and more'),
      row('clean again', 'nothing here either'),
    ]);
    expect(given).toEqual([rules, undefined, undefined, undefined, rules]);
  });

  it('start empty in an index of schema 3, which the next writer migrates in place', async () => {
    const dir = tempStore();
    const store = await openStore({ dir });
    const kept = await store.recordFailure({ title: 'before', domain: 'ops', summary: 'old' });
    await store.close();
    // index.db as lessons of schema 3 left it: no record_scans, its triggers neither.
    sql(
      dir,
      `DROP TRIGGER record_scans_update; DROP TRIGGER record_scans_delete; DROP TABLE record_scans;
       UPDATE meta SET value = '3' WHERE key = 'schema_version';`,
    );
    // Readers answer from it as it is.
    const reader = await openStore({ dir });
    expect((await reader.get(kept.id)).title).toBe('before');
    await reader.close();
    expect((await verify(dir)).scanned).toBe(1);

    const writer = await openStore({ dir });
    const added = await writer.recordFailure({ title: 'after', domain: 'ops', summary: 'new' });
    await writer.close();
    // Migrated in place: the old row kept its rowid and has no mark; the new one has.
    expect(marks(dir)).toEqual([
      ['before', null],
      ['after', await scanFingerprint()],
    ]);
    expect(added.rowid).toBe(kept.rowid + 1);
    const db = new BetterSqlite3(path.join(dir, 'index.db'), { readonly: true });
    expect(db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()).toBe(
      String(MIGRATIONS.at(-1)!.version),
    );
    db.close();
    expect((await verify(dir)).scanned).toBe(1);
    expect(consistencyProblems(dir)).toEqual([]);
    expect(git(dir, 'status', '--porcelain')).toBe('');
  });
});
