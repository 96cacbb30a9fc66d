// `npx tsx stress/folder-bench.ts [--sizes 3000,28000] [--rounds 10]`: what a commit costs in
// git objects when its record goes into a folder that already holds many files (a month's
// folder: 28,000 files at a million records over three years). For each size it builds one
// commit with that many files in `failures/2026/12/`, then times:
//
//   - a group of 16 commits, one file each, written as one pack (a group commit's objects);
//   - single commits, one file each, written as loose objects (one record alone).
//
// Only the git objects are timed (trees, commit, pack or loose files with their fsyncs), in
// this process, against a real repository in the temp folder; `git fsck` checks the result.
// Run it in two checkouts to compare builds side by side.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { GitRepository } from '../src/git/repository.js';

const { values } = parseArgs({
  options: { sizes: { type: 'string' }, rounds: { type: 'string' } },
});
const sizes = (values.sizes ?? '3000,28000').split(',').map(Number);
const rounds = Number(values.rounds ?? 10);
const author = { name: 'bench', email: 'bench@example.com' };
const FOLDER = 'failures/2026/12';

/** File names as records have them: a ULID that grows, then a slug. */
const names = (from: number, count: number): string[] =>
  Array.from(
    { length: count },
    (_, i) => `${FOLDER}/01M8${String(from + i).padStart(10, '0')}ABCDEFGHJKMN-a-record-title.md`,
  );

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

for (const size of sizes) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lessons-folder-bench-'));
  try {
    execFileSync('git', ['init', '-q', '-b', 'main', dir]);
    const repo = new GitRepository(dir);
    const blob = repo.objects.write('blob', Buffer.from('a record\n'));
    const change = (p: string): { path: string; blobOid: string } => ({ path: p, blobOid: blob });
    let next = size;
    let { commit } = await repo.writeCommit({
      parent: undefined,
      changes: names(0, size).map(change),
      message: 'the folder',
      author,
      time: 1,
    });
    /** One commit adding one file to the folder. */
    const addOne = async (): Promise<void> => {
      ({ commit } = await repo.writeCommit({
        parent: commit,
        changes: names(next++, 1).map(change),
        message: 'a record',
        author,
        time: 1,
      }));
    };
    const group = async (): Promise<number> => {
      const started = performance.now();
      repo.objects.beginBatch();
      for (let k = 0; k < 16; k++) await addOne();
      await repo.objects.flushBatch();
      return performance.now() - started;
    };
    const single = async (): Promise<number> => {
      const started = performance.now();
      await addOne();
      return performance.now() - started;
    };
    // The first of each warms the code and the caches, as in a writer that has been running.
    await group();
    await single();
    const groups: number[] = [];
    const singles: number[] = [];
    for (let r = 0; r < rounds; r++) {
      groups.push(await group());
      singles.push(await single());
    }
    fs.writeFileSync(path.join(dir, '.git', 'refs', 'heads', 'main'), `${commit}\n`);
    execFileSync('git', ['-C', dir, 'fsck', '--strict', '--no-dangling'], { stdio: 'ignore' });
    const packBytes = fs
      .readdirSync(path.join(dir, '.git', 'objects', 'pack'))
      .filter((f) => f.endsWith('.pack'))
      .reduce((n, f) => n + fs.statSync(path.join(dir, '.git', 'objects', 'pack', f)).size, 0);
    console.log(
      `${size} files in the folder: group of 16 commits ${median(groups).toFixed(1)} ms, ` +
        `one commit ${median(singles).toFixed(1)} ms (medians of ${rounds}); ` +
        `packs ${(packBytes / 1e6).toFixed(1)} MB`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
