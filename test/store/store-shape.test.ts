// Stores lessons must refuse or repair: `.git` that is a gitdir: link or a plain file, HEAD on
// another branch, a record folder that is a symbolic link out of the store. Each refusal comes
// with a stable code, a message saying how to fix it, exit 2, and the store byte for byte as it
// was (no .lessons/ created); verify names each; cleanup replaces a linked record folder.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/index.js';
import { Quarantine } from '../../src/resources/quarantine.js';
import {
  layoutFor,
  recordFolderTarget,
  recordTarget,
  recordTargetState,
} from '../../src/resources/layout.js';
import {
  consistencyProblems,
  git,
  lessons,
  storeState,
  tempDir,
  tempStore,
} from '../helpers/store.js';

/** Every path under `dir` (links as links) with its bytes' hash or link target. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(dir, rel))) {
      const p = rel === '' ? name : `${rel}/${name}`;
      const full = path.join(dir, p);
      const stat = fs.lstatSync(full);
      if (stat.isSymbolicLink()) out[p] = `-> ${fs.readlinkSync(full)}`;
      else if (stat.isDirectory()) {
        out[p] = 'dir';
        walk(p);
      } else out[p] = createHash('sha256').update(fs.readFileSync(full)).digest('hex');
    }
  };
  walk('');
  return out;
}

const record = (dir: string): string[] => [
  '--dir',
  dir,
  '--json',
  'record-failure',
  '--title',
  'refused',
  '--domain',
  'x',
];

async function seeded(): Promise<{ dir: string; path: string }> {
  const dir = tempStore();
  const store = await openStore({ dir, now: () => new Date('2026-11-22T10:00:00Z') });
  const result = await store.recordFailure({ title: 'in november', domain: 'x' });
  await store.close();
  return { dir, path: result.path };
}

describe('stores lessons refuses, before creating anything', () => {
  it.each([
    [
      'a gitdir: file pointing nowhere',
      'gitdir: /nonexistent/worktrees/store\n',
      /gitdir:.*does not exist/,
    ],
    ['a plain file', 'not a repository\n', /plain file/],
  ])(
    'refuses .git that is %s with exit 2 STORE_UNSUPPORTED and creates nothing',
    async (_name, content, message) => {
      const dir = tempStore();
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, '.git'), content);
      const before = snapshot(dir);
      for (const args of [
        record(dir),
        ['--dir', dir, '--json', 'record-heuristic', '--rule', 'r', '--domain', 'x'],
        ['--dir', dir, '--json', 'cleanup'],
        ['--dir', dir, '--json', 'reindex'],
        ['--dir', dir, '--json', 'verify'],
      ]) {
        const result = await lessons(args);
        expect(result.code, `${args[3]}: ${result.stderr}`).toBe(2);
        expect(result.json).toMatchObject({
          ok: false,
          error: { code: 'STORE_UNSUPPORTED', message: expect.stringMatching(message) },
        });
        expect(snapshot(dir)).toEqual(before);
      }
      expect(fs.existsSync(path.join(dir, '.lessons'))).toBe(false);
    },
  );

  it('refuses a store whose HEAD is on another branch with exit 2, nothing changed; verify names it', async () => {
    const { dir } = await seeded();
    git(dir, 'checkout', '-q', '-b', 'experiments');
    const before = snapshot(dir);
    const result = await lessons(record(dir));
    expect(result.code).toBe(2);
    expect(result.json).toMatchObject({
      ok: false,
      error: { code: 'STORE_WRONG_BRANCH', message: expect.stringContaining('git -C') },
    });
    expect(snapshot(dir)).toEqual(before);
    const verified = await lessons(['--dir', dir, '--json', 'verify']);
    expect(verified.code).toBe(1);
    expect(verified.json).toMatchObject({ ok: false, findings: [{ code: 'STORE_WRONG_BRANCH' }] });
  });

  it('refuses a record folder that is a symbolic link out of the store; verify names it', async () => {
    const { dir } = await seeded();
    const outside = tempDir('lessons-outside-');
    fs.rmSync(path.join(dir, 'failures', '2026'), { recursive: true });
    const now = new Date();
    fs.symlinkSync(outside, path.join(dir, 'failures', String(now.getUTCFullYear())));
    const before = snapshot(dir);
    const result = await lessons(record(dir));
    expect(result.code).toBe(2);
    expect(result.json).toMatchObject({ ok: false, error: { code: 'STORE_SYMLINK' } });
    expect(snapshot(dir)).toEqual(before);
    expect(fs.readdirSync(outside)).toEqual([]);
    const verified = await lessons(['--dir', dir, '--json', 'verify']);
    expect(verified.code).toBe(1);
    const codes = (verified.json!.findings as { code: string; path: string }[]).map((f) => f.code);
    expect(codes).toContain('STORE_SYMLINK');
    expect(codes).toContain('FILE_MISSING');
  });

  it('refuses .lessons that is a symbolic link with exit 2, nothing written through it', async () => {
    const { dir } = await seeded();
    const outside = tempDir('lessons-outside-');
    fs.rmSync(path.join(dir, '.lessons'), { recursive: true });
    fs.symlinkSync(outside, path.join(dir, '.lessons'));
    const result = await lessons(record(dir));
    expect(result.code).toBe(2);
    expect(result.json).toMatchObject({ ok: false, error: { code: 'STORE_SYMLINK' } });
    expect(fs.readdirSync(outside)).toEqual([]);
  });
});

describe("a record's path, checked with one lstat a record", () => {
  it('tells a free path from a taken one and refuses a link at the file or on the way', () => {
    const dir = tempDir();
    const layout = layoutFor(dir);
    const outside = tempDir('lessons-outside-');
    fs.mkdirSync(path.join(dir, 'failures', '2026', '01'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'failures', '2026', '01', 'taken.md'), 'x');
    fs.symlinkSync(path.join(outside, 'a.md'), path.join(dir, 'failures', '2026', '01', 'link.md'));
    fs.symlinkSync(outside, path.join(dir, 'failures', '2027'));
    const verified = new Set<string>();
    const state = (rel: string) => recordTargetState(layout, rel, verified);
    expect(state('failures/2026/01/free.md')).toEqual({
      target: path.join(dir, 'failures', '2026', '01', 'free.md'),
      exists: false,
    });
    expect(state('failures/2026/01/taken.md').exists).toBe(true);
    expect(state('failures/2026/02/new-month.md').exists).toBe(false);
    expect(() => state('failures/2026/01/link.md')).toThrow(
      expect.objectContaining({ code: 'STORE_SYMLINK' }),
    );
    expect(() => recordTarget(layout, 'failures/2026/01/link.md')).toThrow(
      expect.objectContaining({ code: 'STORE_SYMLINK' }),
    );
    for (const check of [state, (rel: string) => recordFolderTarget(layout, rel, new Set())])
      expect(() => check('failures/2027/01/x.md')).toThrow(
        expect.objectContaining({ code: 'STORE_SYMLINK' }),
      );
    // Only the folders: the file is the coordinator's to check, under the same lock.
    expect(recordFolderTarget(layout, 'failures/2026/01/link.md', new Set())).toBe(
      path.join(dir, 'failures', '2026', '01', 'link.md'),
    );
    expect(() => state('../escape.md')).toThrow(
      expect.objectContaining({ code: 'PATH_OUTSIDE_STORE' }),
    );
    expect(fs.readdirSync(outside)).toEqual([]);
  });
});

describe('cleanup and a record folder replaced by a symbolic link', () => {
  it('moves the link itself to quarantine and restores the real folder from HEAD, writing nothing outside', async () => {
    const { dir, path: committed } = await seeded();
    const headBefore = storeState(dir).head;
    // The month folder moved away, a link to an outside folder planted in its place.
    const outside = tempDir('lessons-outside-');
    const month = path.join(dir, 'failures', '2026');
    fs.renameSync(month, path.join(tempDir(), 'moved-away'));
    fs.symlinkSync(outside, month);

    const result = await lessons(['--dir', dir, '--json', 'cleanup']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json).toMatchObject({ ok: true });
    expect(fs.readdirSync(outside)).toEqual([]);
    expect(fs.lstatSync(month).isDirectory()).toBe(true);
    expect(fs.existsSync(path.join(dir, committed))).toBe(true);
    // The link sits in quarantine, as a link to where it pointed.
    const runs = fs.readdirSync(path.join(dir, '.lessons', 'quarantine'));
    const moved = path.join(dir, '.lessons', 'quarantine', runs[0]!, 'files', 'failures', '2026');
    expect(fs.lstatSync(moved).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(moved)).toBe(outside);
    expect(storeState(dir).head).toBe(headBefore);
    expect(consistencyProblems(dir)).toEqual([]);
    const verified = await lessons(['--dir', dir, '--json', 'verify']);
    expect(verified.json).toMatchObject({ ok: true });
  });

  it('never moves a file into quarantine through a link', async () => {
    const { dir } = await seeded();
    const outside = tempDir('lessons-outside-');
    fs.writeFileSync(path.join(outside, 'theirs.md'), 'not ours\n');
    fs.symlinkSync(outside, path.join(dir, 'failures', 'linked'));
    const quarantine = new Quarantine(layoutFor(dir));
    expect(() => quarantine.moveIn('failures/linked/theirs.md', 'test')).toThrow(
      expect.objectContaining({ code: 'STORE_SYMLINK' }),
    );
    expect(fs.readFileSync(path.join(outside, 'theirs.md'), 'utf8')).toBe('not ours\n');
  });
});
