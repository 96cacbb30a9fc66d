// import-elf carries the framework's lifecycle over as events: every heuristic's validations,
// violations, confidence and golden flag fold to exactly what its database says (90
// heuristics, 8 golden), and verify agrees with the fold.

import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/writers.js';
import { consistencyProblems, lessons, tempStore } from '../helpers/store.js';

const FIXTURE = path.join(ROOT, 'test/fixtures/elf-memory');

interface Source {
  id: number;
  confidence: number;
  times_validated: number;
  times_violated: number;
  is_golden: number;
}

describe('import-elf lifecycle', () => {
  it('reproduces the 8 golden rules and every heuristic counts and confidence', async () => {
    const source = new BetterSqlite3(path.join(FIXTURE, 'index.db'), { readonly: true });
    const rows = source
      .prepare('SELECT id, confidence, times_validated, times_violated, is_golden FROM heuristics')
      .all() as Source[];
    source.close();
    expect(rows).toHaveLength(90);
    expect(rows.filter((r) => r.is_golden === 1)).toHaveLength(8);

    const dir = tempStore();
    const result = await lessons(['--dir', dir, '--json', 'import-elf', FIXTURE]);
    expect(result.code, result.stderr).toBe(0);

    const db = new BetterSqlite3(path.join(dir, 'index.db'), { readonly: true });
    const imported = db
      .prepare(
        'SELECT id, imported_from, confidence, validations, violations, golden FROM records WHERE kind = \'heuristic\' AND imported_from LIKE \'%"table":"heuristics"%\'',
      )
      .all() as {
      id: string;
      imported_from: string;
      confidence: number;
      validations: number;
      violations: number;
      golden: number;
    }[];
    db.close();
    const byRow = new Map(
      imported.map((r) => [(JSON.parse(r.imported_from) as { row: { id: number } }).row.id, r]),
    );
    expect(byRow.size).toBe(90);
    for (const s of rows) {
      const r = byRow.get(s.id)!;
      expect(r, `heuristics row ${s.id}`).toBeDefined();
      expect(
        { v: r.validations, x: r.violations, golden: r.golden },
        `heuristics row ${s.id}`,
      ).toEqual({ v: s.times_validated, x: s.times_violated, golden: s.is_golden });
      expect(r.confidence, `heuristics row ${s.id}`).toBe(s.confidence);
    }

    const golden = await lessons(['--dir', dir, '--json', 'golden']);
    expect(golden.json).toMatchObject({ ok: true, count: 8 });
    const verify = await lessons(['--dir', dir, '--json', 'verify']);
    expect(verify.json).toMatchObject({ ok: true, findings: [] });
    expect(consistencyProblems(dir)).toEqual([]);
    // Derived, so rebuilt the same.
    const reindex = await lessons(['--dir', dir, '--json', 'reindex']);
    expect(reindex.code).toBe(0);
    const after = await lessons(['--dir', dir, '--json', 'golden']);
    const ids = (r: typeof golden): string[] =>
      (r.json!.records as { id: string }[]).map((x) => x.id);
    expect(ids(after)).toEqual(ids(golden));
  }, 180_000);
});
