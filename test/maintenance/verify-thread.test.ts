// verify's scan thread (src/maintenance/scan-thread.ts): the secret scan and index.db's check
// on a second core. LESSONS_TEST_SCAN_THREAD_FROM sets the size from which the CLI starts it
// (0: always; huge: never), so one store is verified both ways and the reports compared.
// LESSONS_TRACE shows which way ran, so neither side of a comparison is silently the other.

import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/index.js';
import { prepareRecord } from '../../src/record/markdown.js';
import { validateFailure } from '../../src/record/validate.js';
import { consistencyProblems, git, lessons, storeState, tempStore } from '../helpers/store.js';

const THREAD = { LESSONS_TEST_SCAN_THREAD_FROM: '0', LESSONS_TRACE: '1' };
const INLINE = { LESSONS_TEST_SCAN_THREAD_FROM: '999999999999', LESSONS_TRACE: '1' };

// Assembled from pieces, so that this file holds nothing a scanner flags as a whole.
const CONNECTION = ['postgres://admin:', 's3cr3tP4ss', '@db.internal:5432/app'].join('');

async function seeded(records: number): Promise<string> {
  const dir = tempStore();
  const store = await openStore({ dir });
  await store.recordMany(
    Array.from({ length: records }, (_, i) => ({
      kind: 'failure' as const,
      title: `Failure ${i}: the cache broke`,
      domain: 'infra',
      summary: `Run ${i} of the cache job failed. `.repeat(8),
      tags: ['cache', `t${i % 7}`],
    })),
  );
  await store.close();
  return dir;
}

async function verify(dir: string, env: Record<string, string>, ...flags: string[]) {
  const result = await lessons(['--dir', dir, '--json', 'verify', ...flags], { env });
  const threaded = result.stderr.includes('lessons-trace scan-thread started');
  return { ...result, threaded };
}

describe('verify with the scan thread', () => {
  it('reports a secret committed by hand exactly as the inline scan does, and touches nothing', async () => {
    const dir = await seeded(40);
    const leaked = prepareRecord(
      validateFailure({ title: 'pasted a config', domain: 'ops', summary: `db: ${CONNECTION}` }),
    );
    fs.mkdirSync(path.join(dir, path.dirname(leaked.path)), { recursive: true });
    fs.writeFileSync(path.join(dir, leaked.path), leaked.content);
    git(dir, 'add', leaked.path);
    git(dir, 'commit', '-q', '-m', 'by hand');
    expect((await lessons(['--dir', dir, 'reindex'])).code).toBe(0);
    const before = storeState(dir);

    const threaded = await verify(dir, THREAD);
    const inline = await verify(dir, INLINE);
    expect(threaded.threaded).toBe(true);
    expect(threaded.stderr).toContain('lessons-trace scan-thread matches');
    expect(inline.threaded).toBe(false);
    expect(threaded.code).toBe(1);
    expect(threaded.json).toMatchObject({
      ok: false,
      records: 41,
      findings: [
        {
          code: 'SECRET_IN_HISTORY',
          path: leaked.path,
          message: expect.stringContaining('database-connection-string'),
        },
      ],
    });
    expect(threaded.stdout).not.toContain('s3cr3tP4ss');
    expect(inline.code).toBe(1);
    expect(inline.json).toEqual(threaded.json);

    // verify is a reader: the files, the rows and the commits are as they were.
    expect(storeState(dir)).toEqual(before);
  });

  it('is clean on a clean store, with --deep too, and agrees with the inline run', async () => {
    const dir = await seeded(120);
    for (const flags of [[], ['--deep']]) {
      const threaded = await verify(dir, THREAD, ...flags);
      const inline = await verify(dir, INLINE, ...flags);
      expect(threaded.threaded).toBe(true);
      expect(threaded.stderr).toContain('lessons-trace scan-thread walk');
      expect(threaded.code).toBe(0);
      expect(threaded.json).toMatchObject({ ok: true, records: 120, findings: [] });
      expect(inline.json).toEqual(threaded.json);
    }
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('reports a damaged page of index.db as SQLITE_CORRUPT first, its rows unused, as inline', async () => {
    const dir = await seeded(400);
    const file = path.join(dir, 'index.db');
    const db = new BetterSqlite3(file);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const pageSize = Number(db.pragma('page_size', { simple: true }));
    // A page of the records table past the schema: the file still opens, quick_check fails.
    const { page } = db
      .prepare(
        "SELECT max(pageno) AS page FROM dbstat WHERE name = 'records' AND pagetype = 'leaf'",
      )
      .get() as { page: number };
    db.close();
    expect(page).toBeGreaterThan(2);
    const bytes = fs.readFileSync(file);
    bytes.fill(0xa5, (page - 1) * pageSize + 8, page * pageSize);
    fs.writeFileSync(file, bytes);
    const damaged = fs.readFileSync(file);

    for (const flags of [[], ['--deep']]) {
      const threaded = await verify(dir, THREAD, ...flags);
      const inline = await verify(dir, INLINE, ...flags);
      expect(threaded.threaded).toBe(true);
      expect(threaded.code).toBe(1);
      const findings = (threaded.json as { findings: { code: string }[] }).findings;
      expect(findings[0]).toMatchObject({ code: 'SQLITE_CORRUPT', path: 'index.db' });
      // No row was read from a damaged index: no row is reported missing or orphaned.
      expect(findings.map((f) => f.code)).not.toContain('ROW_MISSING');
      expect(inline.json).toEqual(threaded.json);
    }
    // verify left the damage for cleanup or reindex to repair, and git as it was.
    expect(fs.readFileSync(file).equals(damaged)).toBe(true);
    expect(git(dir, 'status', '--porcelain')).toBe('');
    expect((await lessons(['--dir', dir, 'reindex'])).code).toBe(0);
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('--deep: checks index.db whole and hashes git objects on the thread, as inline', async () => {
    const dir = await seeded(60);
    const one = await lessons([
      '--dir',
      dir,
      '--json',
      'record-failure',
      '--title',
      'loose one',
      '--domain',
      'ops',
    ]);
    expect(one.code).toBe(0);
    const recordPath = (one.json as { path: string }).path;
    expect((await verify(dir, THREAD, '--deep')).json, 'clean before the damage').toMatchObject({
      ok: true,
      findings: [],
    });

    // git: the record's blob, a loose object, damaged (the file in the folder is intact).
    const blob = git(dir, 'rev-parse', `HEAD:${recordPath}`).trim();
    const loose = path.join(dir, '.git', 'objects', blob.slice(0, 2), blob.slice(2));
    fs.chmodSync(loose, 0o644);
    const bytes = fs.readFileSync(loose);
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0xff;
    fs.writeFileSync(loose, bytes);
    // index.db: two indexes of one text column each trade their pages. Every page is sound,
    // so quick_check passes; only integrity_check compares an index with its table.
    const file = path.join(dir, 'index.db');
    const db = new BetterSqlite3(file);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const root = (name: string): number =>
      (
        db.prepare('SELECT rootpage FROM sqlite_master WHERE name = ?').get(name) as {
          rootpage: number;
        }
      ).rootpage;
    const [created, txid] = [root('records_created'), root('records_txid')];
    db.unsafeMode(true); // lets writable_schema through
    db.pragma('writable_schema = ON');
    const swap = db.prepare('UPDATE sqlite_master SET rootpage = ? WHERE name = ?');
    swap.run(txid, 'records_created');
    swap.run(created, 'records_txid');
    db.close();
    const check = new BetterSqlite3(file, { readonly: true });
    expect(check.pragma('quick_check', { simple: true })).toBe('ok');
    expect(check.pragma('integrity_check', { simple: true })).not.toBe('ok');
    check.close();

    // integrity_check goes to whichever thread comes to it first; each way in turn here.
    const threaded = await verify(
      dir,
      { ...THREAD, LESSONS_TEST_INTEGRITY_BY: 'thread' },
      '--deep',
    );
    const byMain = await verify(dir, { ...THREAD, LESSONS_TEST_INTEGRITY_BY: 'main' }, '--deep');
    const inline = await verify(dir, INLINE, '--deep');
    expect(threaded.threaded).toBe(true);
    // Only what both looks saw is reported: these two came from the thread in the first.
    expect(threaded.stderr).toContain('lessons-trace scan-thread integrity');
    expect(threaded.stderr).not.toContain('integrity-check on the main thread');
    expect(threaded.stderr).toContain('lessons-trace scan-thread objects');
    expect(byMain.threaded).toBe(true);
    expect(byMain.stderr).toContain('lessons-trace integrity-check on the main thread');
    expect(byMain.stderr).not.toContain('lessons-trace scan-thread integrity');
    expect(byMain.json).toEqual(threaded.json);
    expect(threaded.code).toBe(1);
    const codes = (threaded.json as { findings: { code: string }[] }).findings.map((f) => f.code);
    expect(codes).toContain('SQLITE_CORRUPT');
    expect(codes).toContain('GIT_OBJECT_CORRUPT');
    expect(inline.threaded).toBe(false);
    expect(inline.json).toEqual(threaded.json);
    // Without --deep neither is looked for, on the thread or not.
    const quick = await verify(dir, THREAD);
    expect(quick.json).toMatchObject({ ok: true, findings: [] });
    expect(git(dir, 'status', '--porcelain')).toBe('');
  });

  it('--deep without a readable HEAD: the thread still comes to integrity_check', async () => {
    const dir = await seeded(10);
    const ref = path.join(dir, '.git', 'refs', 'heads', 'main');
    fs.rmSync(ref, { force: true });
    git(dir, 'pack-refs', '--all', '--prune');
    fs.writeFileSync(path.join(dir, '.git', 'packed-refs'), '');
    // The main thread sends no HEAD: the thread must answer without objects and run the check.
    const threaded = await verify(
      dir,
      { ...THREAD, LESSONS_TEST_INTEGRITY_BY: 'thread' },
      '--deep',
    );
    const inline = await verify(dir, INLINE, '--deep');
    expect(threaded.threaded).toBe(true);
    expect(threaded.stderr).toContain('lessons-trace scan-thread integrity');
    expect(threaded.code).toBe(inline.code);
    expect(threaded.json).toEqual(inline.json);
  });

  it('is not started below the size bar: a small store is scanned inline', async () => {
    const dir = await seeded(10);
    const result = await verify(dir, { LESSONS_TRACE: '1' });
    expect(result.code).toBe(0);
    expect(result.threaded).toBe(false);
  });
});
