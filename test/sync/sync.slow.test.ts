// Sync between stores through a bare remote, with real git, real processes and real SQLite:
// clone, concurrent writers on two stores syncing both ways, a remote that moves between fetch
// and push, a true conflict, and a sync killed with SIGKILL at every step of its integration.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { SYNC_STEPS, type SyncStep } from '../../src/util/faults.js';
import { startWriter } from '../helpers/writers.js';
import {
  BIN,
  consistencyProblems,
  git,
  lessons,
  nativeChecks,
  readRows,
  storeState,
  tempDir,
  type CliResult,
} from '../helpers/store.js';

/** A bare repository with main as its default branch, as docs/sync.md sets one up. */
function bareRemote(): string {
  const remote = path.join(tempDir('lessons-remote-'), 'team.git');
  git(path.dirname(remote), 'init', '--quiet', '--bare', '--initial-branch=main', remote);
  return remote;
}

async function ok(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
  const result = await lessons(args, env === undefined ? {} : { env });
  expect(result.stderr + result.stdout, `lessons ${args.join(' ')}`).not.toMatch(/"ok":false/);
  expect(result.code, `lessons ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result;
}

async function record(dir: string, title: string): Promise<string> {
  const result = await ok([
    '--dir',
    dir,
    '--json',
    'record-failure',
    '--title',
    title,
    '--domain',
    'sync',
  ]);
  return String(result.json!.id);
}

/** A store with one record whose main is on the remote. */
async function seeded(remote: string): Promise<string> {
  const dir = path.join(tempDir(), 'a');
  await record(dir, 'seed');
  await ok(['--dir', dir, 'remote', 'add', 'origin', remote]);
  await ok(['--dir', dir, 'sync']);
  return dir;
}

async function cloned(url: string): Promise<string> {
  const dir = path.join(tempDir(), 'b');
  await ok(['clone', url, '--dir', dir]);
  return dir;
}

function ids(dir: string): string[] {
  return readRows(dir)
    .map((r) => r.id)
    .sort();
}

/** HEAD, files, index and rows agree; fsck, integrity_check, verify clean. */
async function expectSound(dir: string): Promise<void> {
  expect(consistencyProblems(dir)).toEqual([]);
  const verify = await lessons(['--dir', dir, '--json', 'verify']);
  expect(verify.json?.findings).toEqual([]);
  expect(verify.code).toBe(0);
}

/** A lessons process whose stderr can be waited on while it runs. */
function started(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): { reached: (text: string) => Promise<void>; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [BIN.lessons, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiting: { text: string; resolve: () => void }[] = [];
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
    for (const w of waiting.filter((x) => stderr.includes(x.text))) w.resolve();
  });
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => {
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(stdout) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      resolve({ code, signal, stdout, stderr, json });
    }),
  );
  return {
    reached: (text) =>
      stderr.includes(text)
        ? Promise.resolve()
        : new Promise((resolve) => waiting.push({ text, resolve })),
    done,
  };
}

function remoteSound(remote: string): void {
  git(remote, 'fsck', '--strict', '--full', '--no-dangling');
}

// Each case runs a dozen CLI processes and native git; on a shared, loaded machine that takes
// minutes, not the default minute.
vi.setConfig({ testTimeout: 300_000 });

describe('clone', () => {
  it('makes a store from a bare remote by path and by file:// URL: index built, verify clean', async () => {
    const remote = bareRemote();
    const a = await seeded(remote);
    await record(a, 'second');
    await ok(['--dir', a, 'sync']);
    for (const url of [remote, `file://${remote}`]) {
      const b = await cloned(url);
      expect(storeState(b).head).toBe(storeState(a).head);
      expect(ids(b)).toEqual(ids(a));
      expect(readRows(b).map((r) => r.commit_oid)).toEqual(readRows(a).map((r) => r.commit_oid));
      await expectSound(b);
    }
  });

  it('refuses a folder that is not empty, and a remote git cannot read, touching nothing', async () => {
    const remote = bareRemote();
    const busy = tempDir();
    fs.writeFileSync(path.join(busy, 'keep.txt'), 'mine');
    const refused = await lessons(['--json', 'clone', remote, '--dir', busy]);
    expect(refused.code).toBe(2);
    expect(refused.json?.error).toMatchObject({ code: 'CLONE_TARGET_EXISTS' });
    expect(fs.readdirSync(busy)).toEqual(['keep.txt']);

    const target = path.join(tempDir(), 'x');
    const missing = await lessons([
      '--json',
      'clone',
      path.join(busy, 'nope.git'),
      '--dir',
      target,
    ]);
    expect(missing.code).toBe(1);
    expect(missing.json?.error).toMatchObject({ code: 'CLONE_FAILED' });
    expect(fs.existsSync(target)).toBe(false);
  });
});

describe('sync', () => {
  it('two stores recording concurrently while they sync: each ends with the union, no conflict', async () => {
    const remote = bareRemote();
    const a = await seeded(remote);
    const b = await cloned(remote);
    const writers = [a, b].flatMap((dir) =>
      Array.from({ length: 6 }, (_, i) =>
        startWriter({
          dir,
          kind: i % 2 === 0 ? 'failure' : 'heuristic',
          title: `${path.basename(dir)} ${i}`,
        }),
      ),
    );
    // A sync on each store while its writers are at work: writers keep going.
    const during = await Promise.all([
      lessons(['--dir', a, '--json', 'sync']),
      lessons(['--dir', b, '--json', 'sync']),
    ]);
    const outcomes = await Promise.all(writers.map((w) => w.done));
    expect(outcomes.map((o) => o.code)).toEqual(outcomes.map(() => 0));
    // Both ran at once against one remote: one of them may have had to try again, never fail.
    for (const result of during) expect(result.code, result.stderr).toBe(0);

    for (const dir of [a, b, a]) {
      const result = await ok(['--dir', dir, '--json', 'sync']);
      expect(result.json!.conflicts).toEqual([]);
    }
    const all = ids(a);
    expect(all).toHaveLength(1 + 12);
    expect(ids(b)).toEqual(all);
    for (const o of outcomes) expect(all).toContain(o.json!.id);
    expect(storeState(a).head).toBe(storeState(b).head);
    expect(git(remote, 'rev-parse', 'refs/heads/main').trim()).toBe(storeState(a).head);
    expect(git(a, 'log', '--format=%B')).not.toContain('Lessons-Conflict');
    await expectSound(a);
    await expectSound(b);
    remoteSound(remote);
  });

  it('lifecycle events from both stores merge: validations add up and the fold is the same on both', async () => {
    const remote = bareRemote();
    const a = await seeded(remote);
    const made = await ok([
      '--dir',
      a,
      '--json',
      'record-heuristic',
      '--rule',
      'Pin the toolchain version in CI',
      '--domain',
      'sync',
    ]);
    const rule = String(made.json!.id);
    await ok(['--dir', a, 'sync']);
    const b = await cloned(remote);
    for (let i = 0; i < 3; i++) {
      await ok(['--dir', a, 'validate', rule]);
      await ok(['--dir', b, 'validate', rule]);
    }
    await ok(['--dir', b, 'violate', rule]);
    await ok(['--dir', a, 'sync']);
    await ok(['--dir', b, 'sync']);
    await ok(['--dir', a, 'sync']);
    for (const dir of [a, b]) {
      const shown = await ok(['--dir', dir, '--json', 'show', rule]);
      expect(shown.json!.record).toMatchObject({ validations: 6, violations: 1, golden: true });
      await expectSound(dir);
    }
    const [shownA, shownB] = await Promise.all(
      [a, b].map((dir) => ok(['--dir', dir, '--json', 'show', rule])),
    );
    expect(shownA!.json!.record).toEqual(shownB!.json!.record);
    // The fold a sync kept up to date equals a full reindex of the same HEAD.
    await ok(['--dir', b, 'reindex']);
    expect((await ok(['--dir', b, '--json', 'show', rule])).json).toEqual(shownB!.json);
    remoteSound(remote);
  });

  it('the remote moved between fetch and push: fetch, integrate and push again', async () => {
    const remote = bareRemote();
    const a = await seeded(remote);
    const b = await cloned(remote);
    const mine = await record(a, 'made in a');
    const flag = path.join(tempDir(), 'go');
    // a stops just before its push until the flag exists; b pushes meanwhile.
    const env = { LESSONS_TEST_HOLD_AT: `sync-push:${flag}`, LESSONS_TRACE: '1' };
    const pending = started(['--dir', a, '--json', 'sync'], env);
    await pending.reached('lessons-trace sync-push');
    const theirs = await record(b, 'made in b');
    await ok(['--dir', b, 'sync']);
    fs.writeFileSync(flag, '');
    const result = await pending.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('lessons-trace sync-push');
    expect(result.json!.attempts).toBe(2);
    const actions = (result.json!.integrations as { action: string }[]).map((i) => i.action);
    expect(actions).toEqual(['up-to-date', 'merge']);
    expect(ids(a)).toContain(mine);
    expect(ids(a)).toContain(theirs);
    expect(git(remote, 'rev-parse', 'refs/heads/main').trim()).toBe(storeState(a).head);
    await ok(['--dir', b, 'sync']);
    expect(ids(b)).toEqual(ids(a));
    await expectSound(a);
    await expectSound(b);
    remoteSound(remote);
  });

  it('a remote that moves before every push: gives up after the bound with exit 1, nothing lost', async () => {
    const remote = bareRemote();
    const a = await seeded(remote);
    // Before each push lands, the hook moves main (a new commit on top): the push loses the race.
    const hook = path.join(remote, 'hooks', 'pre-receive');
    fs.writeFileSync(
      hook,
      [
        '#!/bin/sh',
        'cat >/dev/null',
        'unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES',
        'c=$(git -c user.name=hook -c user.email=hook@example.invalid commit-tree -p refs/heads/main -m moved "$(git rev-parse \'refs/heads/main^{tree}\')")',
        'git update-ref refs/heads/main "$c"',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const mine = await record(a, 'never pushed');
    const result = await lessons(['--dir', a, '--json', 'sync']);
    expect(result.code).toBe(1);
    expect(result.json?.error, result.stdout).toMatchObject({ code: 'PUSH_REJECTED' });
    expect(String((result.json!.error as { message: string }).message)).toMatch(
      /rejected 9 times.*nothing is lost/,
    );
    expect(ids(a)).toContain(mine);
    // Every fetched commit was integrated: a's main holds the last one fetched (the hook moved
    // the remote once more as it refused the last push).
    const fetched = git(a, 'rev-parse', 'refs/remotes/origin/main').trim();
    expect(git(a, 'merge-base', '--is-ancestor', fetched, 'main')).toBe('');
    expect(git(remote, 'rev-parse', 'main^').trim()).toBe(fetched);
    await expectSound(a);

    // A hook that refuses is not retried: PUSH_FAILED with git's words, at once.
    fs.writeFileSync(hook, '#!/bin/sh\necho "no pushes today" >&2\nexit 1\n', { mode: 0o755 });
    const refused = await lessons(['--dir', a, '--json', 'sync']);
    expect(refused.code).toBe(1);
    expect(refused.json?.error).toMatchObject({ code: 'PUSH_FAILED' });
    expect(String((refused.json!.error as { message: string }).message)).toContain(
      'no pushes today',
    );
    fs.rmSync(hook);
    await ok(['--dir', a, 'sync']);
    expect(git(remote, 'rev-parse', 'main').trim()).toBe(storeState(a).head);
    remoteSound(remote);
  });

  it('a record edited on both sides: the remote version kept, the local one reachable and reported until resolved', async () => {
    const remote = bareRemote();
    const a = await seeded(remote);
    const b = await cloned(remote);
    const file = readRows(a)[0]!.path;
    const edit = async (dir: string, words: string): Promise<void> => {
      const full = path.join(dir, file);
      fs.writeFileSync(full, `${fs.readFileSync(full, 'utf8')}\n${words}\n`);
      await ok(['--dir', dir, 'cleanup']);
    };
    await edit(a, 'Edited in a.');
    await ok(['--dir', a, 'sync']);
    await edit(b, 'Edited in b.');
    const mineBlob = storeState(b).tree[file]!;
    const result = await ok(['--dir', b, '--json', 'sync']);
    const conflicts = result.json!.conflicts as {
      id: string;
      path: string;
      otherBlob: string;
      keptBlob: string;
    }[];
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatchObject({ path: file, otherBlob: mineBlob, kept: 'remote' });
    expect(result.stderr).toContain(`conflict ${conflicts[0]!.id}: ${file}`);

    // HEAD, the file and the row hold a's version; b's stays reachable, here and on the remote.
    expect(fs.readFileSync(path.join(b, file), 'utf8')).toContain('Edited in a.');
    expect(storeState(b).tree[file]).toBe(conflicts[0]!.keptBlob);
    expect(readRows(b).find((r) => r.path === file)!.blob_oid).toBe(conflicts[0]!.keptBlob);
    expect(git(b, 'cat-file', '-p', mineBlob)).toContain('Edited in b.');
    expect(git(remote, 'cat-file', '-p', mineBlob)).toContain('Edited in b.');
    expect(git(b, 'log', '-1', '--format=%B')).toContain(`Lessons-Conflict: ${file}`);
    expect(consistencyProblems(b)).toEqual([]);

    const verify = await lessons(['--dir', b, '--json', 'verify']);
    expect(verify.code).toBe(1);
    expect(
      (verify.json!.findings as { code: string; path: string }[]).map((f) => [f.code, f.path]),
    ).toEqual([['SYNC_CONFLICT', file]]);
    await ok(['--dir', b, 'resolve', conflicts[0]!.id]);
    await expectSound(b);
    await ok(['--dir', a, 'sync']);
    expect(storeState(a).head).toBe(storeState(b).head);
    await expectSound(a);
    remoteSound(remote);
  });

  it('names what is missing: git not on PATH (exit 1), an unknown remote (exit 2); nothing changed', async () => {
    const remote = bareRemote();
    const a = await seeded(remote);
    const before = storeState(a);
    const noGit = await lessons(['--dir', a, '--json', 'sync'], { env: { PATH: tempDir() } });
    expect(noGit.code).toBe(1);
    expect(noGit.json?.error).toMatchObject({ code: 'GIT_NOT_FOUND' });
    expect(String((noGit.json!.error as { message: string }).message)).toContain(
      'no `git` on PATH',
    );
    const unknown = await lessons(['--dir', a, '--json', 'sync', '--remote', 'elsewhere']);
    expect(unknown.code).toBe(2);
    expect(unknown.json?.error).toMatchObject({ code: 'REMOTE_UNKNOWN' });
    expect(String((unknown.json!.error as { message: string }).message)).toContain('it has origin');
    expect(storeState(a)).toEqual(before);
  });

  it('plain `git remote` works as well as `lessons remote`', async () => {
    const remote = bareRemote();
    const a = path.join(tempDir(), 'a');
    await record(a, 'one');
    git(a, 'remote', 'add', 'shared', remote);
    const listed = await ok(['--dir', a, '--json', 'remote', 'list']);
    expect(listed.json!.remotes).toEqual([{ name: 'shared', fetch: remote, push: remote }]);
    await ok(['--dir', a, 'sync', '--remote', 'shared']);
    expect(git(remote, 'rev-parse', 'main').trim()).toBe(storeState(a).head);
    await ok(['--dir', a, 'remote', 'remove', 'shared']);
    expect(git(a, 'remote').trim()).toBe('');
  });
});

describe('verify --remote', () => {
  it('reports how far ahead and behind the store is, and changes nothing of the store', async () => {
    const remote = bareRemote();
    const a = await seeded(remote);
    const b = await cloned(remote);
    await record(a, 'first from a');
    await record(a, 'second from a');
    await ok(['--dir', a, 'sync']);
    await record(b, 'only in b');
    const before = storeState(b);
    const result = await ok(['--dir', b, '--json', 'verify', '--remote', 'origin']);
    expect(result.json!.findings).toEqual([]);
    expect(result.json!.remote).toMatchObject({
      remote: 'origin',
      url: remote,
      fetched: git(remote, 'rev-parse', 'main').trim(),
      head: before.head,
      ahead: 1,
      behind: 2,
      incoming: 2,
      problems: [],
    });
    expect(storeState(b)).toEqual(before);
    const human = await ok(['--dir', b, 'verify', '--remote', 'origin']);
    expect(human.stdout).toMatch(/remote origin: 1 commit ahead of, 2 commits behind its main/);

    await ok(['--dir', b, 'sync']);
    const after = await ok(['--dir', b, '--json', 'verify', '--remote', 'origin']);
    expect(after.json!.remote).toMatchObject({ ahead: 0, behind: 0, incoming: 0 });
  });

  it("finds what in the remote's new history does not parse (exit 1); an unknown remote is exit 2", async () => {
    const remote = bareRemote();
    const a = await seeded(remote);
    const b = await cloned(remote);
    // Someone pushes, with plain git, a record file that is not a record.
    const plain = path.join(tempDir(), 'plain');
    git(path.dirname(plain), 'clone', '--quiet', remote, plain);
    const bad = 'failures/2026/01/01KBADBADBADBADBADBADBADBAD-broken.md';
    fs.mkdirSync(path.join(plain, path.dirname(bad)), { recursive: true });
    fs.writeFileSync(path.join(plain, bad), 'no front matter here\n');
    git(plain, 'add', bad);
    git(plain, 'commit', '--quiet', '-m', 'a broken record');
    git(plain, 'push', '--quiet', 'origin', 'main');
    const pushed = git(remote, 'rev-parse', 'main').trim();
    const before = storeState(b);
    const result = await lessons(['--dir', b, '--json', 'verify', '--remote', 'origin']);
    expect(result.code, result.stderr).toBe(1);
    expect(result.json!.findings).toMatchObject([{ code: 'REMOTE_UNPARSEABLE', path: bad }]);
    expect(result.json!.remote).toMatchObject({
      behind: 1,
      problems: [{ commit: pushed, path: bad }],
    });
    expect(storeState(b)).toEqual(before);
    // The store itself is sound: only verify --remote reports it.
    await expectSound(b);

    // Fixed on the remote (removed), and another broken file whose name is not ASCII: only
    // what a sync would bring in now is reported, under its own name.
    const odd = 'failures/2026/01/01KBADBADBADBADBADBADBADBAE-ünïcödé.md';
    git(plain, 'rm', '--quiet', bad);
    fs.mkdirSync(path.join(plain, path.dirname(odd)), { recursive: true });
    fs.writeFileSync(path.join(plain, odd), 'still no front matter\n');
    git(plain, 'add', odd);
    git(plain, 'commit', '--quiet', '-m', 'fix one, break another');
    git(plain, 'push', '--quiet', 'origin', 'main');
    const again = await lessons(['--dir', b, '--json', 'verify', '--remote', 'origin']);
    expect(again.code, again.stderr).toBe(1);
    expect(again.json!.findings).toMatchObject([{ code: 'REMOTE_UNPARSEABLE', path: odd }]);
    expect(again.json!.remote).toMatchObject({
      behind: 2,
      incoming: 1,
      problems: [{ commit: git(remote, 'rev-parse', 'main').trim(), path: odd }],
    });

    const unknown = await lessons(['--dir', a, '--json', 'verify', '--remote', 'nowhere']);
    expect(unknown.code).toBe(2);
    expect(unknown.json?.error).toMatchObject({ code: 'REMOTE_UNKNOWN' });

    git(a, 'remote', 'set-url', 'origin', path.join(tempDir(), 'gone.git'));
    const gone = await lessons(['--dir', a, '--json', 'verify', '--remote', 'origin']);
    expect(gone.code).toBe(1);
    expect(gone.json!.findings).toMatchObject([{ code: 'REMOTE_UNREACHABLE' }]);
  });
});

describe('syncs at once', () => {
  it('four syncs of one store at once while it records: all exit 0, one history', async () => {
    const remote = bareRemote();
    const a = await seeded(remote);
    const b = await cloned(remote);
    for (let i = 0; i < 3; i++) await record(b, `from b ${i}`);
    await ok(['--dir', b, 'sync']);
    const writers = Array.from({ length: 4 }, (_, i) =>
      startWriter({ dir: a, kind: 'failure', title: `during ${i}` }),
    );
    // They meet on the remote-tracking ref's lock (fetch), the writers' lock (integrate) and
    // the remote's ref (push): each waits or tries again, none fails.
    const syncs = await Promise.all(
      Array.from({ length: 4 }, () => lessons(['--dir', a, '--json', 'sync'])),
    );
    for (const result of syncs) expect(result.code, result.stderr + result.stdout).toBe(0);
    const outcomes = await Promise.all(writers.map((w) => w.done));
    expect(outcomes.map((o) => o.code)).toEqual([0, 0, 0, 0]);
    await ok(['--dir', a, 'sync']);
    await ok(['--dir', b, 'sync']);
    expect(ids(a)).toHaveLength(1 + 3 + 4);
    expect(ids(b)).toEqual(ids(a));
    expect(git(a, 'log', '--format=%B')).not.toContain('Lessons-Conflict');
    await expectSound(a);
    await expectSound(b);
    remoteSound(remote);
  });
});

describe('SIGKILL during a sync', () => {
  // Every step with `lessons recover`; the next record recovers as well (the same recovery runs
  // first in every writer), shown at one step before the commit point and two after it.
  const cases = SYNC_STEPS.flatMap((step): [SyncStep, string][] => [
    [step, 'lessons recover'],
    ...(['sync-files', 'sync-ref', 'sync-committed'].includes(step)
      ? [[step, 'the next record'] as [SyncStep, string]]
      : []),
  ]);
  /** From this step on, main holds the integration: recovery rolls it forward. */
  const AFTER_REF: ReadonlySet<SyncStep> = new Set([
    'sync-ref',
    'sync-placed',
    'sync-committed',
    'sync-done',
    'sync-push',
  ]);

  it.each(cases)(
    'killed at "%s", then %s: HEAD, files and rows agree, nothing lost',
    async (step, then) => {
      const remote = bareRemote();
      const a = await seeded(remote);
      const b = await cloned(remote);
      const theirs = await record(b, 'from b');
      await ok(['--dir', b, 'sync']);
      const mine = await record(a, 'from a');

      const killed = await lessons(['--dir', a, 'sync'], { env: { LESSONS_TEST_KILL_AT: step } });
      expect(killed.signal).toBe('SIGKILL');
      const expected = [mine, ...ids(b)];
      if (then === 'lessons recover') await ok(['--dir', a, 'recover']);
      else expected.push(await record(a, 'after the crash'));

      expect(consistencyProblems(a)).toEqual([]);
      expect(nativeChecks(a)).toEqual([]);
      expect(ids(a).includes(theirs)).toBe(AFTER_REF.has(step));
      for (const id of expected.filter((i) => i !== theirs || AFTER_REF.has(step)))
        expect(ids(a)).toContain(id);

      await ok(['--dir', a, 'sync']);
      await ok(['--dir', b, 'sync']);
      expect(ids(a)).toEqual([...new Set(expected)].sort());
      expect(ids(b)).toEqual(ids(a));
      await expectSound(a);
      await expectSound(b);
      remoteSound(remote);
    },
  );

  it.each(['recover-start', 'recover-journal'])(
    'a recovery of a killed sync killed at "%s": the next recovery finishes it',
    async (step) => {
      const remote = bareRemote();
      const a = await seeded(remote);
      const b = await cloned(remote);
      const theirs = await record(b, 'from b');
      await ok(['--dir', b, 'sync']);
      const mine = await record(a, 'from a');
      const env = (at: string): NodeJS.ProcessEnv => ({ LESSONS_TEST_KILL_AT: at });
      expect((await lessons(['--dir', a, 'sync'], { env: env('sync-placed') })).signal).toBe(
        'SIGKILL',
      );
      expect((await lessons(['--dir', a, 'recover'], { env: env(step) })).signal).toBe('SIGKILL');
      const recovered = await ok(['--dir', a, '--json', 'recover']);
      expect(recovered.json!.recovered).toMatchObject([{ action: 'rolled-forward' }]);
      expect(consistencyProblems(a)).toEqual([]);
      expect(ids(a)).toEqual([...ids(b), mine].sort());
      expect(ids(a)).toContain(theirs);
      await ok(['--dir', a, 'sync']);
      await expectSound(a);
      remoteSound(remote);
    },
  );
});
