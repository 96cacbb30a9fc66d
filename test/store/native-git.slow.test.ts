// A person's own git in the store while agents record: native commits and `git gc` (with its
// default prune window) in loops beside 20 CLI writers. Every writer must exit 0; main moving
// under a writer, git's lock files, empty object folders removed and packs replaced by gc are
// all waited out or worked around, never reported as failures.

import { holdAt } from '../helpers/hold.js';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validCacheTrees } from '../../src/git/index-file.js';
import { startWriter } from '../helpers/writers.js';
import {
  consistencyProblems,
  git,
  lessons,
  nativeChecks,
  readRows,
  storeState,
  tempStore,
} from '../helpers/store.js';

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Native Git',
  GIT_AUTHOR_EMAIL: 'native@git.invalid',
  GIT_COMMITTER_NAME: 'Native Git',
  GIT_COMMITTER_EMAIL: 'native@git.invalid',
};

/** A shell loop in the store until the file `stop` appears; counts its successful rounds. */
function loop(dir: string, body: string): { child: ChildProcess; rounds: () => number } {
  const child = spawn(
    '/bin/sh',
    ['-c', `i=0; while [ ! -f "$0/stop" ]; do i=$((i+1)); ${body}; done`, dir],
    { cwd: dir, env: { ...process.env, ...GIT_ENV }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let rounds = 0;
  child.stdout.on('data', (d: Buffer) => (rounds += d.toString().split('ok').length - 1));
  child.stderr.on('data', () => undefined);
  return { child, rounds: () => rounds };
}

function stopped(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve();
    else child.on('close', () => resolve());
  });
}

describe("a person's own git beside the writers", () => {
  it('lets 20 CLI writers all exit 0 while native commits and git gc loop in the same store', async () => {
    const dir = tempStore();
    expect(
      (await lessons(['--dir', dir, 'record-failure', '--title', 'seed', '--domain', 'x'])).code,
    ).toBe(0);
    const commits = loop(
      dir,
      'echo "note $i" >> NOTES && git add NOTES && git commit -q -m "notes $i" && echo ok',
    );
    const gc = loop(dir, 'git gc -q && echo ok');
    // Let both loops get going before the writers start.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const writers = Array.from({ length: 20 }, (_, i) =>
      startWriter({ dir, kind: i % 2 === 0 ? 'failure' : 'heuristic', title: `agent ${i}` }),
    );
    const outcomes = await Promise.all(writers.map((w) => w.done));
    fs.writeFileSync(path.join(dir, 'stop'), '');
    await Promise.all([stopped(commits.child), stopped(gc.child)]);
    fs.rmSync(path.join(dir, 'stop'));

    const failed = outcomes.filter((o) => o.code !== 0);
    expect(
      failed.map((o) => `${o.spec.title}: ${o.code} ${o.stderr.trim()}`),
      'every writer exits 0',
    ).toEqual([]);
    // The loops really ran beside the writers.
    expect(commits.rounds()).toBeGreaterThan(0);
    expect(gc.rounds()).toBeGreaterThan(0);

    // All 21 records in all three stores, and each row names the commit that holds it.
    const rows = readRows(dir);
    expect(rows.map((r) => r.title).sort()).toEqual(
      ['seed', ...outcomes.map((o) => o.spec.title)].sort(),
    );
    for (const outcome of outcomes) {
      const row = rows.find((r) => r.id === outcome.json!.id)!;
      expect(row.commit_oid).toBe(outcome.json!.commit);
      expect(git(dir, 'log', '-1', '--format=%B', row.commit_oid)).toContain(
        `Lessons-Id: ${row.id}`,
      );
      expect(git(dir, 'merge-base', '--is-ancestor', row.commit_oid, 'main')).toBe('');
    }
    // The person's commits are all there too, and their NOTES is what they committed.
    expect(
      git(dir, 'log', '--format=%s', 'main')
        .split('\n')
        .filter((s) => s.startsWith('notes ')).length,
    ).toBe(commits.rounds());
    // A native `git commit` still running when the last writer finished may have written back
    // the index it read before that writer's (git's own race, among gits too): entries of
    // committed records go missing from .git/index until the next lessons command, which puts
    // them back. `lessons recover` is that command here.
    expect((await lessons(['--dir', dir, 'recover'])).code).toBe(0);
    expect(storeState(dir).status).toBe('');
    expect(nativeChecks(dir)).toEqual([]);
    expect(consistencyProblems(dir)).toEqual([]);
    const verified = await lessons(['--dir', dir, '--json', 'verify', '--deep']);
    expect(verified.json, verified.stderr).toMatchObject({ ok: true, findings: [] });
  });

  it('rolls a killed writer forward when a native commit landed between its parent and its commit', async () => {
    const dir = tempStore();
    expect(
      (await lessons(['--dir', dir, 'record-failure', '--title', 'seed', '--domain', 'x'])).code,
    ).toBe(0);
    const parent = storeState(dir).head!;
    // The writer pauses after writing its objects; a native commit moves main; the writer
    // rebuilds its commit on that one, moves main, and is killed before SQLite COMMIT.
    const hold = holdAt('objects');
    const writer = startWriter({
      dir,
      kind: 'failure',
      title: 'rebuilt then killed',
      env: { ...hold.env, LESSONS_TEST_KILL_AT: 'index' },
    });
    await hold.reached();
    fs.writeFileSync(path.join(dir, 'NOTES'), 'mine\n');
    git(dir, 'add', 'NOTES');
    git(dir, 'commit', '-q', '-m', 'native');
    const native = git(dir, 'rev-parse', 'main').trim();
    expect(git(dir, 'rev-parse', `${native}^`).trim()).toBe(parent);
    hold.release();
    const killed = await writer.done;
    expect(killed.signal).toBe('SIGKILL');
    const head = storeState(dir).head!;
    expect(git(dir, 'rev-parse', `${head}^`).trim()).toBe(native);

    const recovered = await lessons(['--dir', dir, '--json', 'recover']);
    expect(recovered.json).toMatchObject({
      ok: true,
      recovered: [{ action: 'rolled-forward', commit: head }],
    });
    const row = readRows(dir).find((r) => r.title === 'rebuilt then killed')!;
    expect(row.commit_oid).toBe(head);
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it("puts back the entries a person's git dropped by writing an index copy read before a record", async () => {
    const dir = tempStore();
    const first = await lessons([
      '--dir',
      dir,
      '--json',
      'record-failure',
      '--title',
      'one',
      '--domain',
      'x',
    ]);
    expect(first.code).toBe(0);
    // A native commit leaves a cache tree valid in every folder, as git's own commit does.
    fs.writeFileSync(path.join(dir, 'NOTES'), 'mine\n');
    git(dir, 'add', 'NOTES');
    git(dir, 'commit', '-q', '-m', 'native');
    const copy = fs.readFileSync(path.join(dir, '.git', 'index'));
    expect(validCacheTrees(copy).has('failures')).toBe(true);
    // A record lands; then the person's git writes back the copy it read before (what a `git
    // commit` racing a writer does): the new record's entry is gone from the index.
    const second = await lessons([
      '--dir',
      dir,
      '--json',
      'record-failure',
      '--title',
      'two',
      '--domain',
      'x',
    ]);
    expect(second.code).toBe(0);
    fs.writeFileSync(path.join(dir, '.git', 'index'), copy);
    expect(git(dir, 'status', '--porcelain')).toContain(String(second.json!.path));
    // The next writer finds the index foreign: the folder whose cache tree is stale is read,
    // the missing entry put back.
    const third = await lessons([
      '--dir',
      dir,
      '--json',
      'record-failure',
      '--title',
      'three',
      '--domain',
      'x',
    ]);
    expect(third.code).toBe(0);
    expect(git(dir, 'status', '--porcelain')).toBe('');
    const listed = git(dir, 'ls-files');
    for (const r of [first, second, third]) expect(listed).toContain(String(r.json!.path));
    expect(consistencyProblems(dir)).toEqual([]);
  });
});
