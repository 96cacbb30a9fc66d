// index.db is derived and ignored by git, so a fresh `git clone` of a store has none: every
// command builds it from HEAD first (readers and verify without the lock, writers under it).
// A read-only store is read through a private copy, and an index.db that is a directory is a
// store problem with its fix named, never "a bug in lessons".

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/index.js';
import { startWriter } from '../helpers/writers.js';
import {
  consistencyProblems,
  git,
  lessons,
  nativeChecks,
  readRows,
  storeState,
  tempDir,
  tempStore,
} from '../helpers/store.js';

interface Origin {
  readonly dir: string;
  readonly ids: string[];
  readonly paths: string[];
}

async function origin(): Promise<Origin> {
  const dir = tempStore();
  const store = await openStore({ dir });
  const results = await store.recordMany([
    {
      kind: 'failure',
      title: 'Cache stampede',
      domain: 'infra',
      severity: 'high',
      tags: ['cache'],
    },
    { kind: 'heuristic', rule: 'Jitter every retry', domain: 'infra', tags: ['retry'] },
  ]);
  results.push(await store.recordFailure({ title: 'Disk full on the runner', domain: 'ci' }));
  await store.close();
  return { dir, ids: results.map((r) => r.id), paths: results.map((r) => r.path) };
}

/** A real clone over git's pack transport, as CI checks a store out: no index.db in it. */
function cloneOf(dir: string): string {
  const clone = path.join(tempDir(), 'clone');
  git(path.dirname(clone), 'clone', '-q', `file://${dir}`, clone);
  expect(fs.existsSync(path.join(clone, 'index.db'))).toBe(false);
  return clone;
}

/** sha256 of every file under `dir` (a read-only mount must come out byte-identical). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(p);
      else
        out[p] = createHash('sha256')
          .update(fs.readFileSync(path.join(dir, p)))
          .digest('hex');
    }
  };
  walk('');
  return out;
}

/** Bind-mount `dir` read-only (as root); unmounted when the test ends. */
function readOnlyMount(dir: string): string {
  const target = path.join(tempDir(), 'ro');
  fs.mkdirSync(target);
  execFileSync('mount', ['--bind', '-o', 'ro', dir, target]);
  return target;
}

function unmount(target: string): void {
  execFileSync('umount', [target]);
}

const asRoot = process.getuid?.() === 0;

describe('a fresh git clone of a store (no index.db)', () => {
  it('verifies clean, lists every record, searches and gives context with no other step', async () => {
    const { dir, ids } = await origin();
    const clone = cloneOf(dir);

    const verify = await lessons(['--dir', clone, '--json', 'verify']);
    expect(verify.code).toBe(0);
    expect(verify.json).toMatchObject({ ok: true, records: 3, index: 'built', findings: [] });

    const list = await lessons(['--dir', clone, '--json', 'list']);
    expect(list.code).toBe(0);
    expect((list.json!.records as { id: string }[]).map((r) => r.id).sort()).toEqual(
      [...ids].sort(),
    );
    const search = await lessons(['--dir', clone, '--json', 'search', 'stampede']);
    expect(search.json).toMatchObject({ ok: true, count: 1 });
    const context = await lessons(['--dir', clone, '--json', 'context', '--domain', 'infra']);
    expect(context.json).toMatchObject({ ok: true, included: { heuristics: 1, failures: 1 } });

    // The index the first command built is installed, complete, and agrees with the origin's.
    const rows = readRows(clone);
    expect(rows.map((r) => [r.id, r.path, r.blob_oid, r.commit_oid]).sort()).toEqual(
      readRows(dir)
        .map((r) => [r.id, r.path, r.blob_oid, r.commit_oid])
        .sort(),
    );
    expect(consistencyProblems(clone)).toEqual([]);
    expect(fs.readdirSync(clone).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('builds the index for each reader of a clone whose index.db was removed again', async () => {
    const { dir } = await origin();
    const clone = cloneOf(dir);
    for (const command of [['list'], ['search', 'retry'], ['context'], ['stats'], ['show', '1']]) {
      fs.rmSync(path.join(clone, 'index.db'), { force: true });
      const run = await lessons(['--dir', clone, '--json', ...command]);
      expect(run.code, command.join(' ')).toBe(0);
      expect(run.json!.ok).toBe(true);
      expect(readRows(clone)).toHaveLength(3);
    }
    expect(consistencyProblems(clone)).toEqual([]);
  });

  it('fails verify with the right codes when a committed file is deleted or its front matter edited', async () => {
    const { dir, paths } = await origin();
    const clone = cloneOf(dir);
    fs.rmSync(path.join(clone, paths[0]!));
    // A failure's title edited: a person's edit. A heuristic's domain edited: its folder is
    // its domain, so the file now claims another identity than the committed record.
    const retitled = path.join(clone, paths[2]!);
    fs.writeFileSync(
      retitled,
      fs
        .readFileSync(retitled, 'utf8')
        .replace('title: Disk full on the runner', 'title: Disk full'),
    );
    const moved = path.join(clone, paths[1]!);
    fs.writeFileSync(moved, fs.readFileSync(moved, 'utf8').replace('domain: infra', 'domain: ops'));

    const verify = await lessons(['--dir', clone, '--json', 'verify']);
    expect(verify.code).toBe(1);
    const findings = (verify.json!.findings as { code: string; path: string }[])
      .map((f) => [f.code, f.path])
      .sort();
    expect(findings).toEqual(
      [
        ['FILE_MISSING', paths[0]],
        ['FIELD_MISMATCH', paths[1]],
        ['FILE_MODIFIED', paths[2]],
      ].sort(),
    );
    // The index was built from HEAD, not from the damaged files.
    expect(
      readRows(clone)
        .map((r) => r.path)
        .sort(),
    ).toEqual([...paths].sort());
  });

  it('lets a writer on a clone record into an index built from HEAD first', async () => {
    const { dir } = await origin();
    const clone = cloneOf(dir);
    const run = await lessons([
      '--dir',
      clone,
      '--json',
      'record-failure',
      '--title',
      'First on the clone',
      '--domain',
      'ci',
    ]);
    expect(run.code).toBe(0);
    expect(readRows(clone).map((r) => r.title)).toContain('First on the clone');
    expect(readRows(clone)).toHaveLength(4);
    expect(consistencyProblems(clone)).toEqual([]);
  });

  it('never loses a row when readers build the index while writers record', async () => {
    const { dir } = await origin();
    const clone = cloneOf(dir);
    const writers = Array.from({ length: 4 }, (_, i) =>
      startWriter({ dir: clone, kind: 'failure', title: `racing writer ${i}` }),
    );
    const readers = Array.from({ length: 4 }, (_, i) =>
      lessons(['--dir', clone, '--json', i % 2 === 0 ? 'list' : 'verify']),
    );
    const outcomes = await Promise.all(writers.map((w) => w.done));
    const reads = await Promise.all(readers);
    for (const r of reads) expect(r.json, r.stderr).toBeDefined();
    expect(outcomes.map((o) => o.code)).toEqual([0, 0, 0, 0]);
    const rows = readRows(clone);
    expect(rows).toHaveLength(7);
    for (const o of outcomes) expect(rows.map((r) => r.id)).toContain(o.json!.id);
    expect(consistencyProblems(clone)).toEqual([]);
    const verify = await lessons(['--dir', clone, 'verify']);
    expect(verify.code).toBe(0);
  });
});

describe.runIf(asRoot)('a read-only store (read-only bind mount)', () => {
  for (const withIndex of [true, false]) {
    it(`serves list, search, show, context, stats and verify ${withIndex ? 'from its index.db' : 'with no index.db, built in memory'}`, async () => {
      const { dir, ids } = await origin();
      if (!withIndex)
        for (const s of ['', '-wal', '-shm']) fs.rmSync(`${dir}/index.db${s}`, { force: true });
      const before = snapshot(dir);
      const ro = readOnlyMount(dir);
      try {
        const commands = [
          ['list'],
          ['search', 'stampede'],
          ['show', ids[0]!],
          ['context', '--domain', 'infra'],
          ['stats'],
        ];
        for (const command of commands) {
          const run = await lessons(['--dir', ro, '--json', ...command]);
          expect(run.code, `${command[0]}: ${run.stderr}`).toBe(0);
          expect(run.json!.ok).toBe(true);
        }
        const list = await lessons(['--dir', ro, '--json', 'list']);
        expect(list.json!.count).toBe(3);
        const verify = await lessons(['--dir', ro, '--json', 'verify']);
        expect(verify.code, verify.stderr).toBe(0);
        expect(verify.json).toMatchObject({
          ok: true,
          readOnly: true,
          index: withIndex ? 'copy' : 'memory',
          findings: [],
        });
        const human = await lessons(['--dir', ro, 'verify']);
        expect(human.stdout).toContain('read-only');
        expect(human.stdout + human.stderr).not.toMatch(/corrupt|reindex|SQLITE/i);
      } finally {
        unmount(ro);
      }
      expect(snapshot(dir)).toEqual(before);
    });
  }

  it('serves readers from HEAD when a read-only store has a corrupt index.db, and verify reports it', async () => {
    const { dir } = await origin();
    for (const suffix of ['-wal', '-shm']) fs.rmSync(`${dir}/index.db${suffix}`, { force: true });
    fs.writeFileSync(path.join(dir, 'index.db'), Buffer.alloc(8192, 7));
    const ro = readOnlyMount(dir);
    try {
      const list = await lessons(['--dir', ro, '--json', 'list']);
      expect(list.code, list.stderr).toBe(0);
      expect(list.json!.count).toBe(3);
      const verify = await lessons(['--dir', ro, 'verify']);
      expect(verify.code).toBe(1);
      expect(verify.stdout).toContain('SQLITE_CORRUPT');
      expect(verify.stdout).toContain('read-only');
      expect(verify.stdout).toContain('writable checkout');
    } finally {
      unmount(ro);
    }
  });

  it('reports a damaged read-only store as findings, saying the fixes need a writable checkout', async () => {
    const { dir, paths } = await origin();
    fs.rmSync(path.join(dir, paths[0]!));
    const ro = readOnlyMount(dir);
    try {
      const verify = await lessons(['--dir', ro, 'verify']);
      expect(verify.code).toBe(1);
      expect(verify.stdout).toContain('FILE_MISSING');
      expect(verify.stdout).toContain('read-only');
      expect(verify.stdout).not.toMatch(/SQLITE_CORRUPT/);
    } finally {
      unmount(ro);
    }
  });
});

describe('index.db replaced by a directory', () => {
  it('is a store problem with its fix for readers, verify and writers; reindex repairs it', async () => {
    const { dir } = await origin();
    fs.rmSync(path.join(dir, 'index.db'));
    fs.mkdirSync(path.join(dir, 'index.db'));
    const committed = (): unknown => {
      const { head, commits, files, tree, index } = storeState(dir, { rows: false });
      return { head, commits, files, tree, index };
    };
    const before = committed();

    for (const command of [['list'], ['search', 'x'], ['stats']]) {
      const run = await lessons(['--dir', dir, '--json', ...command]);
      expect(run.code, command[0]).toBe(1);
      expect(run.json!.error).toMatchObject({ code: 'INDEX_NOT_A_FILE' });
      expect(run.stderr).toContain('lessons reindex');
      expect(run.stderr).not.toContain('bug in lessons');
    }
    const verify = await lessons(['--dir', dir, '--json', 'verify']);
    expect(verify.code).toBe(1);
    expect(verify.json!.findings).toEqual([
      expect.objectContaining({ code: 'INDEX_NOT_A_FILE', path: 'index.db' }),
    ]);
    const write = await lessons([
      '--dir',
      dir,
      '--json',
      'record-failure',
      '--title',
      'not stored',
      '--domain',
      'x',
    ]);
    expect(write.code).toBe(1);
    expect(write.json!.error).toMatchObject({ code: 'INDEX_NOT_A_FILE' });
    expect(committed()).toEqual(before);
    expect(fs.statSync(path.join(dir, 'index.db')).isDirectory()).toBe(true);

    const reindex = await lessons(['--dir', dir, 'reindex']);
    expect(reindex.code).toBe(0);
    expect(fs.statSync(path.join(dir, 'index.db')).isFile()).toBe(true);
    expect(consistencyProblems(dir)).toEqual([]);
    expect(nativeChecks(dir)).toEqual([]);
    expect(fs.readdirSync(path.join(dir, '.lessons', 'quarantine'))).toHaveLength(1);
  });
});
