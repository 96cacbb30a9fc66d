// update and retire keep every promise of recording: a fault injected at any step of their
// transaction leaves the event file, its row, the folded record row and HEAD as before.
// (SIGKILL at every step: lifecycle-crash.slow.test.ts.)

import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/index.js';
import { NO_THROW, TXN_STEPS } from '../../src/util/faults.js';
import { consistencyProblems, storeState, tempStore } from '../helpers/store.js';

/** Every step that takes an injected throw (faults.ts keeps the others). */
const FAILING_STEPS = TXN_STEPS.filter((s) => !NO_THROW.has(s));

afterEach(() => {
  delete process.env.LESSONS_TEST_FAIL_AT;
});

/** The whole index state of a record: its row and its event rows. */
function indexed(dir: string, id: string): unknown {
  const db = new BetterSqlite3(path.join(dir, 'index.db'), { readonly: true });
  try {
    return {
      row: db.prepare('SELECT * FROM records WHERE id = ?').get(id),
      events: db.prepare('SELECT * FROM events WHERE target = ? ORDER BY id').all(id),
      fts: db.prepare("SELECT rowid FROM records_fts WHERE records_fts MATCH 'corrected'").all(),
    };
  } finally {
    db.close();
  }
}

const CHANGES: Record<string, (store: Store, id: string) => Promise<unknown>> = {
  update: (store, id) =>
    store.update(id, { rule: 'A corrected rule', tags: ['corrected'], confidence: 0.9 }),
  retire: (store, id) => store.retire(id, { reason: 'corrected elsewhere' }),
  validate: (store, id) => store.validate(id, { note: 'held' }),
};

describe.each(Object.keys(CHANGES))('%s under fault injection', (verb) => {
  it.each(FAILING_STEPS)('leaves no trace when step "%s" fails', async (step) => {
    const dir = tempStore();
    const seed = await openStore({ dir });
    const h = await seed.recordHeuristic({ rule: 'A rule', domain: 'seed', confidence: 0.6 });
    await seed.validate(h.id);
    await seed.close();
    const before = storeState(dir);
    const index = indexed(dir, h.id);

    process.env.LESSONS_TEST_FAIL_AT = step;
    const store = await openStore({ dir });
    await expect(CHANGES[verb]!(store, h.id)).rejects.toMatchObject({
      code: 'INJECTED_FAULT',
      exitCode: 1,
    });
    delete process.env.LESSONS_TEST_FAIL_AT;

    expect(storeState(dir)).toEqual(before);
    expect(indexed(dir, h.id)).toEqual(index);
    expect(consistencyProblems(dir)).toEqual([]);

    // Usable afterwards, and the change then lands whole.
    await CHANGES[verb]!(store, h.id);
    expect((await store.verify()).findings).toEqual([]);
    await store.close();
    expect(consistencyProblems(dir)).toEqual([]);
  });
});
