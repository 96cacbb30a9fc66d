// Writers killed with SIGKILL at every named step of a transaction and of recovery, and at
// random moments: afterwards the store is consistent, and a record is present exactly when the
// crash came after main moved.

import { holdAt } from '../helpers/hold.js';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { RECOVERY_STEPS, TXN_STEPS, type TxnStep } from '../../src/util/faults.js';
import { auditStore } from '../../stress/lib/audit.js';
import { runCrashRound } from '../../stress/lib/crash.js';
import {
  LESSONS_BIN,
  runLessons,
  startWriter,
  writerArgs,
  type WriterOutcome,
} from '../helpers/writers.js';
import { AFTER_REF, consistencyProblems, storeState, seededByCli } from '../helpers/store.js';

/** What a kill at each step leaves behind before any recovery runs. */
const LEFT_BEHIND: Record<
  TxnStep,
  { journal: boolean; file: boolean; row: boolean; headMoved: boolean; indexLock: boolean }
> = {
  locked: { journal: false, file: false, row: false, headMoved: false, indexLock: false },
  journal: { journal: true, file: false, row: false, headMoved: false, indexLock: false },
  files: { journal: true, file: true, row: false, headMoved: false, indexLock: false },
  insert: { journal: true, file: true, row: false, headMoved: false, indexLock: false },
  // index.lock is taken only around the swap of main and the index write (step "ref").
  objects: { journal: true, file: true, row: false, headMoved: false, indexLock: false },
  ref: { journal: true, file: true, row: false, headMoved: true, indexLock: true },
  index: { journal: true, file: true, row: false, headMoved: true, indexLock: false },
  commit: { journal: true, file: true, row: false, headMoved: true, indexLock: false },
  committed: { journal: true, file: true, row: true, headMoved: true, indexLock: false },
  answered: { journal: true, file: true, row: true, headMoved: true, indexLock: false },
  done: { journal: false, file: true, row: true, headMoved: true, indexLock: false },
};

function untrackedRecordFiles(dir: string): string[] {
  const state = storeState(dir);
  return Object.keys(state.files).filter((p) => !(p in state.tree));
}

async function killedAt(dir: string, step: string, title: string): Promise<WriterOutcome> {
  const outcome = await startWriter({
    dir,
    kind: 'failure',
    title,
    env: { LESSONS_TEST_KILL_AT: step },
  }).done;
  expect(outcome.signal).toBe('SIGKILL');
  return outcome;
}

describe('SIGKILL at every step of a transaction', () => {
  const cases = TXN_STEPS.flatMap((step): [TxnStep, string][] => [
    [step, 'the next record'],
    [step, 'lessons recover'],
  ]);

  it.each(cases)(
    'after a kill at "%s", %s leaves all three stores consistent',
    async (step, recovery) => {
      const dir = await seededByCli();
      const before = storeState(dir);
      const title = `killed at ${step}`;
      const killed = await killedAt(dir, step, title);

      // What the crash left, before recovery.
      const left = LEFT_BEHIND[step];
      const mid = storeState(dir);
      expect(mid.journal.length).toBe(left.journal ? 1 : 0);
      expect(mid.head !== before.head).toBe(left.headMoved);
      expect(mid.rows.some((r) => r.title === title)).toBe(left.row);
      const hasFile = Object.keys(mid.files).length > Object.keys(before.files).length;
      expect(hasFile).toBe(left.file);
      expect(fs.existsSync(path.join(dir, '.git', 'index.lock'))).toBe(left.indexLock);
      expect(fs.existsSync(path.join(dir, '.lessons', 'lock', 'owner.json'))).toBe(true);

      if (recovery === 'the next record') {
        const next = await startWriter({
          dir,
          kind: 'failure',
          title: 'after the crash',
          lockTimeout: '20s',
        }).done;
        expect(next.code).toBe(0);
        expect(auditStore(dir, [killed, next]).problems).toEqual([]);
      } else {
        const result = await runLessons(['--dir', dir, '--json', 'recover']);
        expect(result.code).toBe(0);
        const report = JSON.parse(result.stdout) as {
          ok: boolean;
          recovered: { action: string; records: { path: string }[] }[];
        };
        expect(report.ok).toBe(true);
        expect(report.recovered.map((a) => a.action)).toEqual(
          left.journal ? [AFTER_REF.has(step) ? 'rolled-forward' : 'rolled-back'] : [],
        );
        expect(auditStore(dir, [killed]).problems).toEqual([]);
      }

      const after = storeState(dir);
      expect(after.rows.some((r) => r.title === title)).toBe(AFTER_REF.has(step));
      expect(untrackedRecordFiles(dir)).toEqual([]);
      expect(consistencyProblems(dir)).toEqual([]);
    },
  );
});

describe('SIGKILL inside recovery', () => {
  const cases = RECOVERY_STEPS.flatMap((step) => [
    [step, 'files', false],
    [step, 'ref', true],
  ]) as [string, TxnStep, boolean][];

  it.each(cases)(
    'a recovery killed at "%s" (writer killed at "%s") is finished by the next recovery',
    async (recoveryStep, writerStep, present) => {
      const dir = await seededByCli();
      const title = `killed at ${writerStep}`;
      const killed = await killedAt(dir, writerStep, title);
      const first = await runLessons(['--dir', dir, 'recover'], {
        LESSONS_TEST_KILL_AT: recoveryStep,
      });
      expect(first.signal).toBe('SIGKILL');
      expect(storeState(dir).journal).toHaveLength(1);
      const second = await runLessons(['--dir', dir, '--json', 'recover']);
      expect(second.code).toBe(0);
      expect(auditStore(dir, [killed]).problems).toEqual([]);
      expect(storeState(dir).rows.some((r) => r.title === title)).toBe(present);
    },
  );
});

describe('a killed lock holder', () => {
  it('is reclaimed at once on this host, well inside a lock timeout far shorter than the stale time', async () => {
    const dir = await seededByCli();
    await killedAt(dir, 'files', 'holder');
    // The stale time is 10 s; a 5 s timeout can only pass if the dead holder is detected.
    const next = await startWriter({ dir, kind: 'failure', title: 'next', lockTimeout: '5s' }).done;
    expect(next.code).toBe(0);
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('is reclaimed while it is still a zombie its parent has not reaped', async (ctx) => {
    const dir = await seededByCli();
    // A parent that never waits for its child: the killed writer stays a zombie meanwhile.
    const script = [
      'import subprocess, sys, time',
      'p = subprocess.Popen(sys.argv[1:])',
      'print(p.pid, flush=True)',
      'time.sleep(600)',
    ].join('\n');
    const args = [
      '-c',
      script,
      process.execPath,
      LESSONS_BIN,
      ...writerArgs({ dir, kind: 'failure', title: 'zombie holder' }),
    ];
    let parent;
    try {
      parent = spawn('python3', args, {
        env: { ...process.env, LESSONS_TEST_KILL_AT: 'files' },
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    } catch {
      ctx.skip('python3 is not available');
      return;
    }
    onTestFinished(() => {
      parent.kill('SIGKILL');
    });
    const pid = Number(
      await new Promise<string>((resolve) =>
        parent.stdout.once('data', (d: Buffer) => resolve(d.toString())),
      ),
    );
    const isZombie = (): boolean => {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
      } catch {
        return false;
      }
    };
    while (!isZombie()) await new Promise((r) => setTimeout(r, 20));
    const next = await startWriter({ dir, kind: 'failure', title: 'next', lockTimeout: '5s' }).done;
    expect(isZombie()).toBe(true);
    expect(next.code).toBe(0);
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('is never taken from a live holder: the waiter times out instead', async () => {
    const dir = await seededByCli();
    const hold = holdAt('files');
    const holder = startWriter({ dir, kind: 'failure', title: 'slow but alive', env: hold.env });
    await hold.reached();
    const waiter = await startWriter({
      dir,
      kind: 'failure',
      title: 'impatient',
      lockTimeout: '1s',
    }).done;
    expect(waiter.code).toBe(3);
    hold.release();
    const held = await holder.done;
    expect(held.code).toBe(0);
    expect(auditStore(dir, [held, waiter]).problems).toEqual([]);
  });
});

describe('random kills with concurrent writers', () => {
  // A writer killed while it holds git's index.lock leaves it behind; recovery gives such a
  // lock two seconds to go away (it might be a person's git of the moment) before removing it.
  it(
    'keeps every exit-0 record and no half records over 40 iterations',
    { timeout: 300_000 },
    async () => {
      const dir = await seededByCli();
      // A writer's life is ~150-400 ms here; the kills spread over all of it.
      const round = await runCrashRound({ dir, iterations: 40, maxDelayMs: 500 });
      expect(round.recoverExit).toBe(0);
      expect(round.audit.problems).toEqual([]);
      expect(round.audit.halfPresent).toBe(0);
      expect(round.audit.exit0Missing).toBe(0);
      expect(round.audit.exit0 + round.audit.killed).toBe(round.writers);
      expect(round.audit.exit0).toBeGreaterThanOrEqual(80);
      expect(round.killed).toBeGreaterThan(0);
      expect(consistencyProblems(dir)).toEqual([]);
    },
  );
});
