// Ids are monotonic within a store: a writer whose clock is behind (or ahead) still files its
// record after the newest one at HEAD, `created` follows the id, and `list` (newest first)
// matches the commit order. Imports keep their original dates.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/index.js';
import { ROOT, consistencyProblems, git, lessons, readRows, tempStore } from '../helpers/store.js';
import { idTime } from '../../src/record/ids.js';

const YEAR = 365 * 24 * 3600 * 1000;

/** Record ids in commit order, oldest first, from the Lessons-Id trailers of main. */
function idsInCommitOrder(dir: string): string[] {
  return git(dir, 'log', '--reverse', '--format=%(trailers:key=Lessons-Id,valueonly)', 'main')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

describe('ids under a skewed clock', () => {
  it('files the record of a writer whose clock is a year behind after the newest, with created following the id', async () => {
    const dir = tempStore();
    const now = await openStore({ dir });
    const first = await now.recordFailure({ title: 'on time', domain: 'x' });
    await now.close();
    const behind = await openStore({ dir, now: () => new Date(Date.now() - YEAR) });
    const late = await behind.recordFailure({ title: 'a year behind', domain: 'x' });
    const rule = await behind.recordHeuristic({ rule: 'also behind', domain: 'x' });
    await behind.close();

    expect(late.id > first.id).toBe(true);
    expect(rule.id > late.id).toBe(true);
    const rows = readRows(dir);
    for (const row of rows) {
      const created = (await (await openStore({ dir })).get(row.id)).created;
      expect(Date.parse(created)).toBe(idTime(row.id));
    }
    // Filed under the newest record's month, not a year back.
    expect(path.dirname(late.path)).toBe(path.dirname(first.path));
    expect(idsInCommitOrder(dir)).toEqual([first.id, late.id, rule.id]);
    const listed = await (await openStore({ dir })).list();
    expect(listed.map((r) => r.id)).toEqual([rule.id, late.id, first.id]);
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('keeps later records after one written by a clock a year ahead', async () => {
    const dir = tempStore();
    const ahead = await openStore({ dir, now: () => new Date(Date.now() + YEAR) });
    const future = await ahead.recordFailure({ title: 'from the future', domain: 'x' });
    await ahead.close();
    const store = await openStore({ dir });
    const next = await store.recordFailure({ title: 'on time', domain: 'x' });
    await store.close();
    expect(next.id > future.id).toBe(true);
    expect(idTime(next.id) - idTime(future.id)).toBeLessThan(1000);
    expect(idsInCommitOrder(dir)).toEqual([future.id, next.id]);
  });

  it('lets an import keep its original dates, before the newest record', async () => {
    const dir = tempStore();
    const store = await openStore({ dir });
    const recent = await store.recordFailure({ title: 'recent', domain: 'x' });
    const [old] = await store.recordMany([
      {
        kind: 'failure',
        title: 'from 2020',
        domain: 'x',
        created: '2020-03-04T05:06:07.000Z',
        importedFrom: { from: 'test' },
      },
    ]);
    const after = await store.recordFailure({ title: 'after the import', domain: 'x' });
    await store.close();
    expect(old!.id < recent.id).toBe(true);
    expect(old!.path).toMatch(/^failures\/2020\/03\//);
    expect(after.id > recent.id).toBe(true);
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('keeps list in commit order for CLI writers whose clocks are a year off either way', async () => {
    const dir = tempStore();
    // A real clock offset for the whole child process (what faketime does), preloaded.
    const skewed = (ms: number): NodeJS.ProcessEnv => ({
      NODE_OPTIONS: `--require ${path.join(ROOT, 'test/helpers/skewed-clock.cjs')}`,
      LESSONS_TEST_CLOCK_SKEW_MS: String(ms),
    });
    const runs: [string, NodeJS.ProcessEnv][] = [
      ['on time', {}],
      ['a year behind', skewed(-YEAR)],
      ['a year ahead', skewed(YEAR)],
      ['on time again', {}],
      ['behind again', skewed(-YEAR)],
    ];
    for (const [title, env] of runs) {
      const result = await lessons(
        ['--dir', dir, '--json', 'record-failure', '--title', title, '--domain', 'x'],
        { env },
      );
      expect(result.code, result.stderr).toBe(0);
    }
    const order = idsInCommitOrder(dir);
    expect([...order].sort()).toEqual(order);
    const listed = await lessons(['--dir', dir, '--json', 'list']);
    const records = listed.json!.records as { id: string; title: string; created: string }[];
    expect(records.map((r) => r.id)).toEqual([...order].reverse());
    expect(records.map((r) => r.title)).toEqual(runs.map(([t]) => t).reverse());
    for (const r of records) expect(Date.parse(r.created)).toBe(idTime(r.id));
    const verified = await lessons(['--dir', dir, '--json', 'verify']);
    expect(verified.json).toMatchObject({ ok: true });
  });
});
