// The operational scripts call the real commands: the CI script, the cron line and the systemd
// service are run here against a real store, with `lessons` on PATH pointing at this build.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/index.js';
import { BIN, consistencyProblems, ROOT, tempDir, tempStore } from '../helpers/store.js';

/** A PATH whose `lessons` is this checkout's build. */
function pathWithLessons(): string {
  const bin = tempDir();
  const shim = path.join(bin, 'lessons');
  fs.writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${BIN.lessons}" "$@"\n`);
  fs.chmodSync(shim, 0o755);
  return `${bin}:${process.env.PATH ?? ''}`;
}

async function storeWithOneRecord(): Promise<string> {
  const dir = tempStore();
  const store = await openStore({ dir });
  await store.recordFailure({ title: 'Scheduled job overlapped', domain: 'ops' });
  await store.close();
  return dir;
}

function sh(command: string, env: NodeJS.ProcessEnv): { status: number | null; out: string } {
  const result = spawnSync('bash', ['-c', command], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return { status: result.status, out: result.stdout + result.stderr };
}

describe('scripts/', () => {
  it('ci/verify.sh passes a clean store, fails a damaged one, and leaves a JUnit report', async () => {
    const dir = await storeWithOneRecord();
    const report = path.join(tempDir(), 'reports', 'verify.xml');
    const env = { PATH: pathWithLessons() };
    const script = path.join(ROOT, 'scripts/ci/verify.sh');
    const clean = sh(`${script} ${dir} ${report}`, env);
    expect(clean.status).toBe(0);
    expect(fs.readFileSync(report, 'utf8')).toContain('failures="0"');

    fs.writeFileSync(path.join(dir, 'failures', 'stray.md'), 'not a record\n');
    const dirty = sh(`${script} ${dir} ${report}`, env);
    expect(dirty.status).toBe(1);
    expect(dirty.out).toContain('FILE_UNTRACKED');
    expect(fs.readFileSync(report, 'utf8')).toContain('<failure type="FILE_UNTRACKED"');
  });

  it('the cron line and the systemd service run a real cleanup', async () => {
    const cron = fs.readFileSync(path.join(ROOT, 'scripts/cron/lessons-cleanup.crontab'), 'utf8');
    const cronCommand = /^\*\/5 \* \* \* \* (.+?) >>/m.exec(cron)![1]!;
    const service = fs.readFileSync(
      path.join(ROOT, 'scripts/systemd/lessons-cleanup.service'),
      'utf8',
    );
    const execStart = /^ExecStart=(.+)$/m.exec(service)![1]!;
    expect(
      fs.readFileSync(path.join(ROOT, 'scripts/systemd/lessons-cleanup.timer'), 'utf8'),
    ).toMatch(/^OnUnitActiveSec=5min$/m);

    for (const command of [cronCommand, execStart]) {
      const dir = await storeWithOneRecord();
      fs.rmSync(path.join(dir, '.git', 'index'));
      const run = sh(command, { PATH: pathWithLessons(), LESSONS_DIR: dir });
      expect(run.status).toBe(0);
      expect(consistencyProblems(dir)).toEqual([]);
    }
  });
});
