// update and retire from the command line, killed with SIGKILL at every step: after the next
// command's recovery (or `lessons recover`), the change is there whole exactly when the crash
// came after main moved, and nowhere otherwise: not in a file, not in a row, not in the fold.

import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { TXN_STEPS } from '../../src/util/faults.js';
import { runLessons } from '../helpers/writers.js';
import { AFTER_REF, consistencyProblems, storeState, tempStore } from '../helpers/store.js';

function folded(dir: string, id: string): { title: string; retired: number; events: number } {
  const db = new BetterSqlite3(path.join(dir, 'index.db'), { readonly: true });
  try {
    const row = db.prepare('SELECT title, retired FROM records WHERE id = ?').get(id) as {
      title: string;
      retired: number;
    };
    const { n } = db.prepare('SELECT count(*) AS n FROM events WHERE target = ?').get(id) as {
      n: number;
    };
    return { ...row, events: n };
  } finally {
    db.close();
  }
}

const COMMANDS: Record<string, { args: string[]; applied: { title: string; retired: number } }> = {
  update: { args: ['--rule', 'Corrected rule'], applied: { title: 'Corrected rule', retired: 0 } },
  retire: { args: ['--reason', 'obsolete'], applied: { title: 'A rule', retired: 1 } },
};

describe.each(Object.keys(COMMANDS))('lessons %s killed at every step', (verb) => {
  it.each(TXN_STEPS.flatMap((s) => [[s, 'recover'] as const, [s, 'validate'] as const]))(
    'after a kill at "%s", %s leaves the change whole or absent',
    async (step, next) => {
      const dir = tempStore();
      const seed = await runLessons([
        '--dir',
        dir,
        '--json',
        'record-heuristic',
        '--domain',
        'd',
        '--rule',
        'A rule',
      ]);
      const id = (JSON.parse(seed.stdout) as { id: string }).id;
      const { args, applied } = COMMANDS[verb]!;
      const killed = await runLessons(['--dir', dir, '--json', verb, id, ...args], {
        LESSONS_TEST_KILL_AT: step,
      });
      expect(killed.signal).toBe('SIGKILL');
      const after = await runLessons(
        next === 'recover'
          ? ['--dir', dir, '--json', 'recover']
          : ['--dir', dir, '--json', 'validate', id],
      );
      expect(after.code).toBe(0);
      const state = folded(dir, id);
      const extra = next === 'validate' ? 1 : 0;
      if (AFTER_REF.has(step)) expect(state).toEqual({ ...applied, events: 1 + extra });
      else expect(state).toEqual({ title: 'A rule', retired: 0, events: extra });
      const tree = Object.keys(storeState(dir).tree).filter((p) => p.startsWith('events/'));
      expect(tree).toHaveLength(state.events);
      const verify = await runLessons(['--dir', dir, '--json', 'verify']);
      expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, findings: [] });
      expect(consistencyProblems(dir)).toEqual([]);
    },
  );
});
