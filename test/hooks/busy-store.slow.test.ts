// The hooks beside a writer that holds the store for seconds: reads go on, a record detaches.

import { holdAt } from '../helpers/hold.js';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AFTER_FAILURE,
  lessonsBinDir,
  processesWith,
  runHook,
  sessionOf,
  SESSION_START,
  stateOf,
  storeWith,
  waitFor,
} from '../helpers/hooks.js';
import { BIN, consistencyProblems, storeState, tempDir, tempStore } from '../helpers/store.js';

describe('hooks while the store is busy', () => {
  it('reads while another writer holds the store', async () => {
    const dir = tempStore();
    await storeWith(dir, 'busy');
    const hold = holdAt('locked');
    const holder = spawn(
      process.execPath,
      [BIN.lessons, '--dir', dir, 'record-failure', '--title', 'holder', '--domain', 'busy'],
      { env: { ...process.env, ...hold.env }, stdio: 'ignore' },
    );
    const holderDone = new Promise((resolve) => holder.on('close', resolve));
    await hold.reached();
    const result = await runHook(SESSION_START, ['--domain', 'busy'], {
      env: { PATH: `${lessonsBinDir()}:${process.env.PATH}`, LESSONS_DIR: dir },
    }).done;
    expect(holder.exitCode).toBeNull();
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('Check the fixtures of busy first');
    hold.release();
    await holderDone;
  });
  it('--record records in the background: the hook returns while the store is busy, the record lands later, no zombie', async () => {
    const dir = tempStore();
    await storeWith(dir, 'app');
    const log = path.join(tempDir(), 'hooks.log');
    const hold = holdAt('locked');
    const holder = spawn(
      process.execPath,
      [BIN.lessons, '--dir', dir, 'record-failure', '--title', 'holder', '--domain', 'app'],
      { env: { ...process.env, ...hold.env }, stdio: 'ignore' },
    );
    const holderDone = new Promise((resolve) => holder.on('close', resolve));
    await hold.reached();

    const hook = runHook(AFTER_FAILURE, ['--record', '--exit', '1', '--', 'cargo', 'build'], {
      input: 'error[E0308]: mismatched types\n  --> src/main.rs:4:5\n',
      env: {
        PATH: `${lessonsBinDir()}:${process.env.PATH}`,
        LESSONS_DIR: dir,
        LESSONS_DOMAIN: 'app',
        LESSONS_HOOK_LOG: log,
      },
    });
    const result = await hook.done;
    // The framework got its answer while the store was still held.
    expect(holder.exitCode).toBeNull();
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('Recorded as a failure in app, in the background');
    // The worker left the hook's session and was handed to init. It calls setsid() just after
    // it starts, so a look taken at once may catch it (or setsid's parent, when setsid forks)
    // still in the old session: look again until it has left. It waits on the held store, so
    // it is still there; a worker that never leaves holds the test until its time limit.
    let workers = processesWith('lessons-hook-record');
    while (workers.some((w) => w.sid === sessionOf(process.pid))) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      workers = processesWith('lessons-hook-record');
    }
    expect(workers.length).toBeGreaterThan(0);
    const sessions = new Set(workers.map((w) => w.sid));
    expect(sessions.size).toBe(1);
    const [session] = sessions;
    expect(session).not.toBe(sessionOf(process.pid));
    expect(workers.map((w) => w.pid)).toContain(session);
    for (const worker of workers) expect(worker.ppid).not.toBe(hook.pid);

    hold.release();
    await holderDone;
    await waitFor(() => workers.every((w) => stateOf(w.pid) === undefined));
    const rows = storeState(dir).rows.map((r) => r.title);
    expect(rows).toEqual([
      'Check the fixtures of app first',
      'npm test failed on stale fixtures',
      'holder',
      'Command failed: cargo build',
    ]);
    expect(consistencyProblems(dir)).toEqual([]);
    expect(fs.readFileSync(log, 'utf8')).toMatch(/ exit 0 \{"ok":true,"id":"[0-9A-Z]{26}"/);
    const [auto] = storeState(dir).rows.filter((r) => r.title === 'Command failed: cargo build');
    expect(fs.readFileSync(path.join(dir, auto!.path), 'utf8')).toContain(
      'error[E0308]: mismatched types',
    );
    // No zombie left of the hook's workers, anywhere.
    expect(processesWith('lessons-hook-record')).toEqual([]);
    for (const w of workers) expect(stateOf(w.pid)).not.toBe('Z');
  });
});
