// Lifecycle events through the library: each one a transaction of its own (file, row, commit),
// the record's row the fold of its events, reindex and verify agreeing with it.

import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/db/schema.js';
import { openStore } from '../../src/index.js';
import { consistencyProblems, git, tempStore } from '../helpers/store.js';

function eventRows(dir: string): { id: string; verb: string; target: string; path: string }[] {
  const db = new BetterSqlite3(path.join(dir, 'index.db'), { readonly: true });
  try {
    return db.prepare('SELECT id, verb, target, path FROM events ORDER BY id').all() as never;
  } finally {
    db.close();
  }
}

describe('lifecycle events', () => {
  it('folds validations and violations into the row, as file, row and commit', async () => {
    const dir = tempStore();
    const store = await openStore({ dir });
    const h = await store.recordHeuristic({ domain: 'db', rule: 'Back up first', confidence: 0.5 });
    for (let i = 0; i < 6; i++) await store.validate(h.id, { note: `held ${i}` });
    const last = await store.violate(h.id);
    // (2 * 0.5 + 6) / (2 + 6 + 1) = 7 / 9
    expect(last.record.confidence).toBeCloseTo(7 / 9, 12);
    expect(last.record).toMatchObject({ validations: 6, violations: 1, golden: false });
    expect(fs.readFileSync(path.join(dir, last.path), 'utf8')).toContain(`target: ${h.id}`);
    expect(git(dir, 'log', '-1', '--format=%s%n%b', last.commit)).toContain(
      'violate: Back up first',
    );
    expect(eventRows(dir)).toHaveLength(7);
    expect(consistencyProblems(dir)).toEqual([]);
    const report = await store.verify();
    expect(report.findings).toEqual([]);
    await store.close();
  });

  it('updates and retires, and reindex folds the same state again', async () => {
    const dir = tempStore();
    const store = await openStore({ dir });
    const f = await store.recordFailure({
      domain: 'ci',
      title: 'Flaky test',
      summary: 'It flaked',
    });
    await store.update(f.id, { title: 'Flaky integration test', severity: 5, summary: 'Timing' });
    const before = await store.get(f.id);
    expect(before).toMatchObject({ title: 'Flaky integration test', severity: 5 });
    expect(before.body).toContain('# Flaky integration test\n');
    expect(before.body).toContain('## Summary\n\nTiming\n');
    await store.retire(f.id, { reason: 'fixed' });
    expect((await store.list()).map((r) => r.id)).not.toContain(f.id);
    expect((await store.list({ all: true })).map((r) => r.id)).toContain(f.id);
    const kept = await store.get(f.id);
    expect(kept).toMatchObject({ retired: true, retiredReason: 'fixed' });
    await store.reindex();
    expect(await store.get(f.id)).toEqual(kept);
    expect((await store.verify()).findings).toEqual([]);
    expect(consistencyProblems(dir)).toEqual([]);
    await store.close();
  });

  it('rebuilds an index of schema 2 from HEAD, events folded, on the next write', async () => {
    const dir = tempStore();
    const store = await openStore({ dir });
    const h = await store.recordHeuristic({ domain: 'db', rule: 'Index first', confidence: 0.5 });
    await store.validate(h.id);
    await store.close();
    // An index as lessons of schema 2 left it: no events table, no folded columns, no rows.
    for (const suffix of ['', '-wal', '-shm'])
      fs.rmSync(path.join(dir, `index.db${suffix}`), { force: true });
    const old = new BetterSqlite3(path.join(dir, 'index.db'));
    for (const migration of MIGRATIONS.filter((m) => m.version <= 2)) migration.up(old);
    old.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', '2')").run();
    old.close();

    const reader = await openStore({ dir });
    await expect(reader.get(h.id)).rejects.toMatchObject({ code: 'SCHEMA_OLD' });
    await reader.close();
    const writer = await openStore({ dir });
    const result = await writer.validate(h.id);
    expect(result.record).toMatchObject({ validations: 2, violations: 0 });
    expect(result.record.confidence).toBeCloseTo(3 / 4, 12);
    expect(eventRows(dir)).toHaveLength(2);
    expect((await writer.verify()).findings).toEqual([]);
    await writer.close();
    expect(consistencyProblems(dir)).toEqual([]);
  });
});
