import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/index.js';
import { NO_THROW, TXN_STEPS } from '../../src/util/faults.js';
import { consistencyProblems, git, lessons, storeState, tempStore } from '../helpers/store.js';

/** Every step that takes an injected throw, and the ones after COMMIT that take none. */
const FAILING_STEPS = TXN_STEPS.filter((s) => !NO_THROW.has(s));
const STORED_STEPS = TXN_STEPS.filter((s) => NO_THROW.has(s));

afterEach(() => {
  delete process.env.LESSONS_TEST_FAIL_AT;
});

async function seededStore(): Promise<string> {
  const dir = tempStore();
  const store = await openStore({ dir });
  await store.recordFailure({ title: 'existing failure', domain: 'seed' });
  await store.recordHeuristic({ rule: 'existing rule', domain: 'seed' });
  await store.close();
  return dir;
}

function indexBytes(dir: string): Buffer {
  return fs.readFileSync(path.join(dir, '.git', 'index'));
}

describe('rollback at every step', () => {
  it.each(FAILING_STEPS)(
    'leaves HEAD, rows, files, index and status exactly as before when step "%s" fails',
    async (step) => {
      const dir = await seededStore();
      const before = storeState(dir);
      const indexBefore = indexBytes(dir);

      process.env.LESSONS_TEST_FAIL_AT = step;
      const store = await openStore({ dir });
      await expect(
        store.recordMany([
          { kind: 'failure', title: 'doomed', domain: 'x' },
          { kind: 'heuristic', rule: 'doomed rule', domain: 'x' },
        ]),
      ).rejects.toMatchObject({
        code: 'INJECTED_FAULT',
        exitCode: 1,
      });
      delete process.env.LESSONS_TEST_FAIL_AT;

      expect(storeState(dir)).toEqual(before);
      expect(indexBytes(dir).equals(indexBefore)).toBe(true);
      expect(fs.readdirSync(path.join(dir, '.git')).filter((n) => n.endsWith('.lock'))).toEqual([]);
      expect(fs.existsSync(path.join(dir, '.git', 'refs', 'heads', 'main.lock'))).toBe(false);
      expect(consistencyProblems(dir)).toEqual([]);

      // The store is fully usable afterwards.
      const ok = await store.recordFailure({ title: 'after the fault', domain: 'x' });
      await store.close();
      expect(git(dir, 'rev-parse', `${ok.commit}^`).trim()).toBe(before.head);
      expect(consistencyProblems(dir)).toEqual([]);
    },
  );

  it.each(['files', 'objects', 'ref'] as const)(
    'undoes a 300-record transaction (one syncfs, one pack) when step "%s" fails',
    async (step) => {
      const dir = await seededStore();
      const before = storeState(dir);
      const packsBefore = fs.readdirSync(path.join(dir, '.git', 'objects', 'pack'));
      process.env.LESSONS_TEST_FAIL_AT = step;
      const store = await openStore({ dir });
      const many = Array.from({ length: 300 }, (_, i) => ({
        kind: 'failure' as const,
        title: `bulk ${i}`,
        domain: `d${i % 7}`,
      }));
      await expect(store.recordMany(many)).rejects.toMatchObject({ code: 'INJECTED_FAULT' });
      delete process.env.LESSONS_TEST_FAIL_AT;
      // No record file, no temp file, no row, no commit; a pack written before the fault is
      // unreferenced and harmless (git gc prunes it), the index is as it was.
      expect(storeState(dir)).toEqual(before);
      expect(consistencyProblems(dir)).toEqual([]);
      const stored = await store.recordMany(many);
      await store.close();
      expect(stored).toHaveLength(300);
      expect(Object.keys(storeState(dir).tree)).toHaveLength(302);
      expect(fs.readdirSync(path.join(dir, '.git', 'objects', 'pack')).length).toBeGreaterThan(
        packsBefore.length,
      );
      expect(consistencyProblems(dir)).toEqual([]);
    },
  );

  it.each(STORED_STEPS)(
    'treats step "%s" as stored: a fault there cannot un-store the record',
    async (step) => {
      const dir = await seededStore();
      process.env.LESSONS_TEST_FAIL_AT = step;
      const store = await openStore({ dir });
      const result = await store.recordFailure({ title: 'kept', domain: 'x' });
      await store.close();
      expect(storeState(dir).head).toBe(result.commit);
      expect(consistencyProblems(dir)).toEqual([]);
    },
  );

  it('exits 1 from the command line with the reason, and nothing stored', async () => {
    const dir = await seededStore();
    const before = storeState(dir);
    const result = await lessons(
      ['--dir', dir, '--json', 'record-failure', '--title', 'doomed', '--domain', 'x'],
      { env: { LESSONS_TEST_FAIL_AT: 'ref' } },
    );
    expect(result.code).toBe(1);
    expect(result.json).toEqual({
      ok: false,
      error: { code: 'INJECTED_FAULT', message: expect.any(String), data: { step: 'ref' } },
    });
    expect(result.stderr).toContain('injected fault at step "ref"');
    expect(storeState(dir)).toEqual(before);
  });
});
