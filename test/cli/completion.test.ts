// Shell completion as a shell runs it: the script `lessons completion bash` prints is sourced in
// a real bash, which calls back into lessons for commands, flags and what the store holds.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { openStore } from '../../src/index.js';
import { BIN, lessons, tempDir, tempStore } from '../helpers/store.js';
import { shQuote } from '../helpers/tty.js';

function pathWithLessons(): string {
  const bin = tempDir();
  const shim = path.join(bin, 'lessons');
  fs.writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${BIN.lessons}" "$@"\n`);
  fs.chmodSync(shim, 0o755);
  return `${bin}:${process.env.PATH ?? ''}`;
}

/** COMPREPLY after bash completes the last of `words` with the sourced script. */
function complete(script: string, words: string[]): string[] {
  const file = path.join(tempDir(), 'lessons.bash');
  fs.writeFileSync(file, script);
  const result = spawnSync(
    'bash',
    [
      '-c',
      `source ${shQuote(file)}; COMP_WORDS=(${words.map(shQuote).join(' ')}); COMP_CWORD=${words.length - 1}; _lessons_yargs_completions; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { encoding: 'utf8', env: { ...process.env, PATH: pathWithLessons() } },
  );
  expect(result.stderr).toBe('');
  return result.stdout.split('\n').filter(Boolean);
}

it('completes commands, flags, ids, domains and tags in bash, and prints zsh and fish scripts', async () => {
  const dir = tempStore();
  const store = await openStore({ dir });
  const failure = await store.recordFailure({
    title: 'Disk full',
    domain: 'ops',
    tags: ['disk'],
  });
  await store.recordHeuristic({ rule: 'Watch the disk', domain: 'infra', tags: ['monitoring'] });
  await store.close();

  const bash = await lessons(['completion', 'bash']);
  expect(bash.code).toBe(0);
  expect(bash.stdout).toContain('_lessons_yargs_completions');
  expect(complete(bash.stdout, ['lessons', 'li'])).toEqual(['list']);
  expect(complete(bash.stdout, ['lessons', 'list', '--lim'])).toEqual(['--limit']);
  expect(complete(bash.stdout, ['lessons', '--dir', dir, 'list', '--domain', ''])).toEqual([
    'infra',
    'ops',
  ]);
  expect(complete(bash.stdout, ['lessons', '--dir', dir, 'list', '--tag', 'd'])).toEqual(['disk']);
  expect(complete(bash.stdout, ['lessons', '--dir', dir, 'show', failure.id.slice(0, 20)])).toEqual(
    [failure.id],
  );

  const zsh = await lessons(['completion', 'zsh']);
  expect(zsh.stdout).toMatch(/^#compdef lessons/);
  const fish = await lessons(['completion', 'fish']);
  expect(fish.stdout).toContain('complete -f -c lessons');
  const json = await lessons(['--json', 'completion', 'bash']);
  expect(json.json).toMatchObject({ ok: true, script: expect.stringContaining('lessons') });
});
