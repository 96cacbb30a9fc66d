// scripts/hooks/after-failure.sh as an agent framework runs it; it must fail open.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AFTER_FAILURE,
  expectOneWarning,
  lessonsBinDir,
  runHook,
  storeWith,
} from '../helpers/hooks.js';
import { storeState, tempStore } from '../helpers/store.js';

describe('scripts/hooks/after-failure.sh', () => {
  it('answers a framework in its JSON with the matching past failures and the offer', async () => {
    const dir = tempStore();
    await storeWith(dir, 'app');
    const before = storeState(dir);
    const event = {
      session_id: 's',
      cwd: '/tmp',
      hook_event_name: 'PostToolUseFailure',
      tool_name: 'Bash',
      tool_input: { command: 'npm test -- --run fixtures', description: 'run the tests' },
      error: 'Command exited with non-zero status code 1\n\u001b[31mFAIL\u001b[0m 3 tests',
    };
    const result = await runHook(AFTER_FAILURE, [], {
      input: JSON.stringify(event),
      env: {
        PATH: `${lessonsBinDir()}:${process.env.PATH}`,
        LESSONS_DIR: dir,
        LESSONS_DOMAIN: 'app',
      },
    }).done;
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const answer = JSON.parse(result.stdout) as {
      hookSpecificOutput: { hookEventName: string; additionalContext: string };
    };
    expect(answer.hookSpecificOutput.hookEventName).toBe('PostToolUseFailure');
    const text = answer.hookSpecificOutput.additionalContext;
    expect(text).toContain(
      '`npm test -- --run fixtures` failed: Command exited with non-zero status code 1 FAIL 3 tests',
    );
    expect(text).toMatch(
      /Failures recorded before that match it:\n1\. .*failed on stale .*\[failure, app\]/,
    );
    expect(text).toContain('lessons record-failure --domain app');
    // Offering records nothing.
    expect(storeState(dir)).toEqual(before);

    const interrupted = await runHook(AFTER_FAILURE, [], {
      input: JSON.stringify({ ...event, is_interrupt: true }),
      env: { PATH: `${lessonsBinDir()}:${process.env.PATH}`, LESSONS_DIR: dir },
    }).done;
    expect(interrupted).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('fails open with one line on stderr: no lessons on PATH, a broken store, stdin never closed or closed', async () => {
    const noLessons = await runHook(AFTER_FAILURE, ['--', 'make'], {
      env: { PATH: '/usr/bin:/bin' },
    }).done;
    expectOneWarning(noLessons, /`lessons` is not on PATH/);

    const broken = tempStore();
    await storeWith(broken, 'x');
    fs.writeFileSync(path.join(broken, 'index.db'), 'not a database');
    const env = {
      PATH: `${lessonsBinDir()}:${process.env.PATH}`,
      LESSONS_DIR: broken,
      LESSONS_DOMAIN: 'x',
    };
    const result = await runHook(AFTER_FAILURE, ['--exit', '2', '--', 'make', 'build'], { env })
      .done;
    expectOneWarning(result, /index\.db|database/i);
    // The offer still reaches the agent.
    expect(result.stdout).toContain('`make build` failed with exit code 2');

    const open = await runHook(AFTER_FAILURE, ['--', 'make', 'build'], {
      env: { ...env, LESSONS_DIR: tempStore(), LESSONS_HOOK_TIMEOUT: '1' },
      keepStdinOpen: true,
      input: 'partial output',
    }).done;
    expect(open.code).toBe(0);
    expect(open.stderr).toMatch(/^lessons hook: no end to the input on stdin/);
    expect(open.stdout).toContain('`make build` failed');

    // No stdin at all (fd 0 closed), as some frameworks run their hooks.
    const closed = spawnSync('sh', ['-c', 'exec sh "$0" -- make build <&-', AFTER_FAILURE], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    expect(closed.status).toBe(0);
    expect(closed.stdout).toContain('`make build` failed');
  });
});
