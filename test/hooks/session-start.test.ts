// scripts/hooks/session-start.sh as an agent framework runs it; it must fail open.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  expectOneWarning,
  lessonsBinDir,
  runHook,
  SESSION_START,
  stateOf,
  storeWith,
} from '../helpers/hooks.js';
import { tempDir, tempStore } from '../helpers/store.js';

describe('scripts/hooks/session-start.sh', () => {
  it("prints the digest of the project's domain, named after the project's directory", async () => {
    const project = path.join(tempDir(), 'My Project');
    fs.mkdirSync(project);
    await storeWith(path.join(project, 'memory'), 'my-project');
    const env = { PATH: `${lessonsBinDir()}:${process.env.PATH}`, LESSONS_DIR: undefined };
    const result = await runHook(SESSION_START, [], { cwd: project, env }).done;
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^# Lessons for my-project\n/);
    expect(result.stdout).toContain('Check the fixtures of my-project first');
    expect(result.stdout).toContain('npm test failed on stale fixtures');
  });

  it('fails open with one line on stderr: no lessons on PATH, no store, a broken store', async () => {
    const noLessons = await runHook(SESSION_START, [], { env: { PATH: '/usr/bin:/bin' } }).done;
    expectOneWarning(noLessons, /`lessons` is not on PATH/);
    expect(noLessons.stdout).toBe('');

    const env = { PATH: `${lessonsBinDir()}:${process.env.PATH}`, LESSONS_DIR: tempStore() };
    const noStore = await runHook(SESSION_START, ['--domain', 'x'], { env }).done;
    expectOneWarning(noStore, /not a lessons store yet/);

    const broken = tempStore();
    await storeWith(broken, 'x');
    fs.writeFileSync(path.join(broken, 'index.db'), 'this is not a database, it is a text file');
    const result = await runHook(SESSION_START, ['--domain', 'x'], {
      env: { ...env, LESSONS_DIR: broken },
    }).done;
    expectOneWarning(result, /index\.db|database/i);
    expect(result.stdout).toBe('');
  });

  it('stops a digest that takes longer than its time limit, leaving nothing running', async () => {
    const bin = tempDir();
    const pidFile = path.join(bin, 'slow.pid');
    fs.writeFileSync(
      path.join(bin, 'lessons'),
      `#!/bin/sh\necho $$ > "${pidFile}"\nexec sleep 60\n`,
    );
    fs.chmodSync(path.join(bin, 'lessons'), 0o755);
    const result = await runHook(SESSION_START, ['--domain', 'x'], {
      env: { PATH: `${bin}:${process.env.PATH}`, LESSONS_HOOK_TIMEOUT: '1' },
    }).done;
    expectOneWarning(result, /took longer than 1 s/);
    const slow = Number(fs.readFileSync(pidFile, 'utf8'));
    expect(stateOf(slow)).toBeUndefined();
  });
});
