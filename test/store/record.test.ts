import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore, parseRecord } from '../../src/index.js';
import {
  consistencyProblems,
  git,
  readRows,
  storeState,
  tempDir,
  tempStore,
} from '../helpers/store.js';

function commitOf(
  dir: string,
  rev = 'HEAD',
): { subject: string; body: string; files: string[]; author: string } {
  const [subject, ...rest] = git(dir, 'log', '-1', '--format=%s%n%b', rev).trimEnd().split('\n');
  const files = git(dir, 'show', '--name-only', '--format=', rev).split('\n').filter(Boolean);
  return {
    subject: subject!,
    body: rest.join('\n'),
    files,
    author: git(dir, 'log', '-1', '--format=%an <%ae>', rev).trim(),
  };
}

describe('recording into a new store', () => {
  it('creates the store on first write and stores a failure in file, row and commit', async () => {
    const dir = tempStore();
    const store = await openStore({ dir });
    const result = await store.recordFailure({
      title: 'Migration dropped a column',
      domain: 'database',
      severity: 'high',
      summary: 'Lost data',
      tags: 'migrations,data-loss',
    });
    await store.close();

    expect(result).toMatchObject({ ok: true, kind: 'failure', rowid: 1 });
    expect(result.path).toMatch(
      /^failures\/\d{4}\/\d{2}\/[0-9A-Z]{26}-migration-dropped-a-column\.md$/,
    );
    expect(consistencyProblems(dir)).toEqual([]);

    // git: the first commit holds only .gitignore; HEAD holds exactly this file with trailers.
    const state = storeState(dir);
    expect(state.head).toBe(result.commit);
    expect(state.commits).toBe(2);
    const first = git(dir, 'rev-list', '--max-parents=0', 'HEAD').trim();
    expect(git(dir, 'show', `${first}:.gitignore`)).toBe('index.db*\n.lessons/\n');
    const head = commitOf(dir);
    expect(head.subject).toBe('failure: Migration dropped a column');
    expect(head.body).toContain(`Lessons-Id: ${result.id}`);
    expect(head.body).toMatch(/Lessons-Txid: [0-9A-Z]{26}/);
    expect(head.files).toEqual([result.path]);
    expect(head.author).toBe('Lessons Test <test@lessons.invalid>');

    // file: parses back to the fields given.
    const record = parseRecord(fs.readFileSync(path.join(dir, result.path)));
    expect(record).toMatchObject({
      id: result.id,
      kind: 'failure',
      title: 'Migration dropped a column',
      domain: 'database',
      severity: 4,
      tags: ['migrations', 'data-loss'],
    });

    // row: matches the file and the commit.
    const [row] = readRows(dir);
    expect(row).toEqual({
      rowid: 1,
      id: result.id,
      kind: 'failure',
      path: result.path,
      title: record.title,
      blob_oid: state.tree[result.path],
      commit_oid: result.commit,
    });
  });

  it('records heuristics under their domain', async () => {
    const dir = tempStore();
    const store = await openStore({ dir });
    const failure = await store.recordFailure({ title: 'Flaky test', domain: 'ci' });
    const result = await store.recordHeuristic({
      rule: 'Quarantine flaky tests at once',
      domain: 'CI',
      source: 'failure',
      confidence: 'medium',
      sourceId: failure.id,
      explanation: 'They hide real failures.',
    });
    await store.close();
    expect(result.path).toMatch(
      /^heuristics\/ci\/[0-9A-Z]{26}-quarantine-flaky-tests-at-once\.md$/,
    );
    expect(result.rowid).toBe(2);
    expect(commitOf(dir).subject).toBe('heuristic: Quarantine flaky tests at once');
    expect(parseRecord(fs.readFileSync(path.join(dir, result.path)))).toMatchObject({
      kind: 'heuristic',
      source: 'failure',
      confidence: 0.6,
      sourceId: failure.id,
    });
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('records many lessons as one transaction and one commit', async () => {
    const dir = tempStore();
    const store = await openStore({ dir });
    const results = await store.recordMany([
      { kind: 'failure', title: 'One', domain: 'a' },
      { kind: 'heuristic', rule: 'Two', domain: 'b' },
      { kind: 'failure', title: 'Three', domain: 'a', created: '2024-02-03T04:05:06Z' },
    ]);
    await store.close();
    expect(new Set(results.map((r) => r.commit)).size).toBe(1);
    expect(results.map((r) => r.rowid)).toEqual([1, 2, 3]);
    expect(results[2]!.path).toMatch(/^failures\/2024\/02\//);
    const head = commitOf(dir);
    expect(head.subject).toBe('lessons: record 3 records');
    expect(head.files.sort()).toEqual(results.map((r) => r.path).sort());
    expect(storeState(dir).commits).toBe(2);
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('rejects a whole batch when one record is invalid, naming it, and stores nothing', async () => {
    const dir = tempStore();
    const store = await openStore({ dir });
    await expect(
      store.recordMany([
        { kind: 'failure', title: 'ok', domain: 'a' },
        { kind: 'failure', title: '', domain: 'a' },
      ]),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'records[1].title' });
    await store.close();
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('serialises concurrent calls in one process', async () => {
    const dir = tempStore();
    const store = await openStore({ dir });
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        store.recordFailure({ title: `Parallel ${i}`, domain: 'p' }),
      ),
    );
    await store.close();
    expect(new Set(results.map((r) => r.rowid)).size).toBe(12);
    expect(storeState(dir).commits).toBe(13);
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('serialises two store objects on one directory through the writers lock', async () => {
    const dir = tempStore();
    const a = await openStore({ dir });
    const b = await openStore({ dir });
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        (i % 2 ? a : b).recordFailure({ title: `Pair ${i}`, domain: 'p' }),
      ),
    );
    await Promise.all([a.close(), b.close()]);
    expect(results).toHaveLength(6);
    expect(consistencyProblems(dir)).toEqual([]);
  });
});

describe('the commit author', () => {
  it('comes from the store git config first', async () => {
    const dir = tempStore();
    const store = await openStore({ dir });
    await store.recordFailure({ title: 'first', domain: 'x' });
    git(dir, 'config', 'user.name', 'Config Person');
    git(dir, 'config', 'user.email', 'config@example.invalid');
    await store.recordFailure({ title: 'second', domain: 'x' });
    await store.close();
    expect(commitOf(dir).author).toBe('Config Person <config@example.invalid>');
  });

  it('falls back to a fixed default without config or LESSONS_AUTHOR_*', async () => {
    const dir = tempStore();
    const saved = {
      name: process.env.LESSONS_AUTHOR_NAME,
      email: process.env.LESSONS_AUTHOR_EMAIL,
    };
    delete process.env.LESSONS_AUTHOR_NAME;
    delete process.env.LESSONS_AUTHOR_EMAIL;
    try {
      const store = await openStore({ dir });
      await store.recordFailure({ title: 'x', domain: 'y' });
      await store.close();
    } finally {
      process.env.LESSONS_AUTHOR_NAME = saved.name;
      process.env.LESSONS_AUTHOR_EMAIL = saved.email;
    }
    expect(commitOf(dir).author).toBe('lessons <lessons@localhost>');
  });
});

describe('existing repositories and a user at work with native git', () => {
  it('adopts an empty repository made by git init on another branch name', async () => {
    const dir = tempDir();
    git(dir, 'init', '-q', '-b', 'master');
    fs.writeFileSync(path.join(dir, 'README.md'), 'mine\n');
    const store = await openStore({ dir });
    await store.recordFailure({ title: 'x', domain: 'y' });
    await store.close();
    expect(git(dir, 'symbolic-ref', 'HEAD').trim()).toBe('refs/heads/main');
    expect(fs.readFileSync(path.join(dir, 'README.md'), 'utf8')).toBe('mine\n');
    expect(storeState(dir).status).toBe('?? README.md\n');
    expect(consistencyProblems(dir).filter((p) => !p.includes('README'))).toEqual([]);
  });

  it('keeps working in a repository with history, adding its .gitignore lines in a commit', async () => {
    const dir = tempDir();
    git(dir, 'init', '-q', '-b', 'main');
    fs.writeFileSync(path.join(dir, '.gitignore'), 'node_modules/\n');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'notes\n');
    git(dir, 'add', '.');
    git(dir, 'commit', '-q', '-m', 'user commit');
    const store = await openStore({ dir });
    await store.recordFailure({ title: 'x', domain: 'y' });
    await store.close();
    expect(git(dir, 'show', 'HEAD:.gitignore')).toBe('node_modules/\nindex.db*\n.lessons/\n');
    expect(storeState(dir).commits).toBe(3);
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('builds on commits a person made with native git in the store', async () => {
    const dir = tempStore();
    const store = await openStore({ dir });
    await store.recordFailure({ title: 'before', domain: 'x' });
    fs.writeFileSync(path.join(dir, 'NOTES.md'), 'a note\n');
    git(dir, 'add', 'NOTES.md');
    git(dir, 'commit', '-q', '-m', 'a note by hand');
    const nativeHead = git(dir, 'rev-parse', 'HEAD').trim();
    const after = await store.recordFailure({ title: 'after', domain: 'x' });
    await store.close();
    expect(git(dir, 'rev-parse', `${after.commit}^`).trim()).toBe(nativeHead);
    expect(git(dir, 'show', 'HEAD:NOTES.md')).toBe('a note\n');
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('reads packed objects after a native git gc', async () => {
    const dir = tempStore();
    const store = await openStore({ dir });
    for (let i = 0; i < 3; i++) await store.recordFailure({ title: `before gc ${i}`, domain: 'x' });
    git(dir, 'gc', '-q', '--prune=now');
    expect(
      fs.readdirSync(path.join(dir, '.git/objects')).filter((d) => /^[0-9a-f]{2}$/.test(d)),
    ).toEqual([]);
    await store.recordFailure({ title: 'after gc', domain: 'x' });
    await store.close();
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it.each([
    ['index version 4', ['update-index', '--index-version', '4']],
    ['a split index', ['update-index', '--split-index']],
  ])('keeps git status clean when the index uses %s', async (_name, args) => {
    const dir = tempStore();
    const store = await openStore({ dir });
    await store.recordFailure({ title: 'one', domain: 'x' });
    git(dir, ...args);
    await store.recordFailure({ title: 'two', domain: 'x' });
    await store.close();
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it.each([['.git/index.lock'], ['.git/refs/heads/main.lock']])(
    'waits for %s held by native git, then stores nothing and says so',
    async (lockFile) => {
      const dir = tempStore();
      const store = await openStore({ dir, lockTimeoutMs: 400 });
      await store.recordFailure({ title: 'one', domain: 'x' });
      const before = storeState(dir);
      fs.writeFileSync(path.join(dir, lockFile), '');
      await expect(store.recordFailure({ title: 'blocked', domain: 'x' })).rejects.toMatchObject({
        code: 'LOCK_TIMEOUT',
        exitCode: 3,
        message: expect.stringContaining(lockFile.split('/').pop()!),
      });
      const during = storeState(dir);
      expect({ ...during, status: '' }).toEqual({ ...before, status: '' });
      fs.rmSync(path.join(dir, lockFile));
      expect(storeState(dir)).toEqual(before);
      await store.recordFailure({ title: 'unblocked', domain: 'x' });
      await store.close();
      expect(storeState(dir).commits).toBe(before.commits + 1);
      expect(consistencyProblems(dir)).toEqual([]);
    },
  );

  it('rebuilds the rows of a cloned store that has no index.db yet', async () => {
    const origin = tempStore();
    const store = await openStore({ dir: origin });
    await store.recordMany([
      { kind: 'failure', title: 'a', domain: 'x' },
      { kind: 'heuristic', rule: 'b', domain: 'y' },
    ]);
    await store.recordFailure({ title: 'c', domain: 'x' });
    await store.close();
    const clone = path.join(tempDir(), 'clone');
    git(path.dirname(clone), 'clone', '-q', origin, clone);
    const cloned = await openStore({ dir: clone });
    await cloned.recordFailure({ title: 'd', domain: 'x' });
    await cloned.close();
    const rows = readRows(clone);
    expect(rows.map((r) => r.title).sort()).toEqual(['a', 'b', 'c', 'd']);
    const origRows = Object.fromEntries(readRows(origin).map((r) => [r.id, r.commit_oid]));
    for (const row of rows.filter((r) => r.title !== 'd'))
      expect(row.commit_oid).toBe(origRows[row.id]);
    expect(consistencyProblems(clone)).toEqual([]);
  });
});
