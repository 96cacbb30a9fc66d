// Per-worker environment: no user or system git config leaks in, identities are pinned, and
// no test-only fault variable is inherited from the shell.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'lessons-home-'));
process.env.HOME = home;
process.env.XDG_CONFIG_HOME = path.join(home, '.config');
process.env.GIT_CONFIG_NOSYSTEM = '1';
process.env.LESSONS_AUTHOR_NAME = 'Lessons Test';
process.env.LESSONS_AUTHOR_EMAIL = 'test@lessons.invalid';
delete process.env.LESSONS_DIR;
delete process.env.LESSONS_TEST_FAIL_AT;
delete process.env.LESSONS_TEST_KILL_AT;
delete process.env.LESSONS_TEST_DELAY_AT;
delete process.env.LESSONS_TEST_HOLD_AT;
// Colour is decided from these (cli/colour.ts); tests that want it set them explicitly.
delete process.env.FORCE_COLOR;
delete process.env.NO_COLOR;
