// A full disk at every step, on a real 3 MiB tmpfs: exit 0 means stored in all three, exit 1
// means stored in none, once `lessons recover` has run, even when the disk filled up while the
// writer was undoing its transaction (the abort decision is durable).

import { holdAt } from '../helpers/hold.js';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BIN,
  consistencyProblems,
  git,
  lessons,
  nativeChecks,
  readRows,
  storeState,
} from '../helpers/store.js';
import { fillDisk, mountTmpfs, tmpfsUnavailable } from '../helpers/tmpfs.js';

const unavailable = tmpfsUnavailable();
if (unavailable !== undefined) console.warn(`disk-full tests skipped: ${unavailable}`);

/** About 48,000 characters of text that does not compress to nothing. */
function bigText(seed: number): string {
  let x = seed * 2654435761;
  const words: string[] = [];
  let length = 0;
  while (length < 48_000) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const word = x.toString(36);
    words.push(word);
    length += word.length + 1;
  }
  return words.join(' ').slice(0, 48_000);
}

interface Writer {
  readonly reached: (step: string) => Promise<void>;
  readonly done: Promise<{
    code: number | null;
    json: { ok: boolean; error?: { code: string; message: string } };
  }>;
  readonly pid: number;
}

function writer(dir: string, title: string, env: NodeJS.ProcessEnv = {}): Writer {
  const child = spawn(
    process.execPath,
    [
      BIN.lessons,
      '--dir',
      dir,
      '--json',
      'record-failure',
      '--title',
      title,
      '--domain',
      'disk',
      '--summary',
      bigText(title.length * 7919 + title.charCodeAt(title.length - 1)),
    ],
    { env: { ...process.env, LESSONS_TRACE: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  const waiting = new Map<string, () => void>();
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
    for (const [step, resolve] of waiting)
      if (stderr.includes(`lessons-trace ${step} `)) {
        waiting.delete(step);
        resolve();
      }
  });
  const out: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  const done: Writer['done'] = new Promise((resolve) =>
    child.on('close', (code) => {
      const text = Buffer.concat(out).toString('utf8');
      resolve({ code, json: JSON.parse(text || '{"ok":false}') as { ok: boolean } });
    }),
  );
  return {
    pid: child.pid!,
    done,
    reached: (step) =>
      new Promise<void>((resolve, reject) => {
        if (stderr.includes(`lessons-trace ${step} `)) resolve();
        else waiting.set(step, resolve);
        void done.then(() => reject(new Error(`the writer exited before ${step}: ${stderr}`)));
      }),
  };
}

/** The count of records in all three stores, which must agree with the writers that exited 0. */
function expectStored(
  dir: string,
  stored: readonly string[],
  undone: readonly string[] = [],
): void {
  const state = storeState(dir);
  const titles = readRows(dir)
    .map((r) => r.title)
    .sort();
  expect(titles).toEqual([...stored].sort());
  expect(Object.keys(state.files)).toHaveLength(stored.length);
  expect(Object.keys(state.tree)).toHaveLength(stored.length);
  const subjects = git(dir, 'log', '--first-parent', '--format=%s', 'main')
    .split('\n')
    .filter((s) => s.startsWith('failure: '));
  expect(subjects.map((s) => s.slice('failure: '.length)).sort()).toEqual(
    [...stored, ...undone].sort(),
  );
  expect(consistencyProblems(dir)).toEqual([]);
  expect(nativeChecks(dir)).toEqual([]);
}

async function recoverAndVerify(dir: string): Promise<void> {
  const recovered = await lessons(['--dir', dir, '--json', 'recover']);
  expect(recovered.code, recovered.stderr).toBe(0);
  const verified = await lessons(['--dir', dir, '--json', 'verify']);
  expect(verified.json, verified.stderr).toMatchObject({ ok: true, findings: [] });
}

describe.skipIf(unavailable !== undefined)('a full disk (3 MiB tmpfs)', () => {
  it('stores none of a record whose writer exits 1 when the disk fills up, as the issue found it', async () => {
    const dir = path.join(mountTmpfs('3m'), 'store');
    const stored: string[] = [];
    let failed: Awaited<Writer['done']> | undefined;
    for (let i = 1; i <= 60 && failed === undefined; i++) {
      const result = await writer(dir, `big record ${i}`).done;
      if (result.code === 0) stored.push(`big record ${i}`);
      else failed = result;
    }
    expect(failed?.code).toBe(1);
    expect(failed?.json.ok).toBe(false);
    expect(stored.length).toBeGreaterThan(5);
    await recoverAndVerify(dir);
    expectStored(dir, stored);
  });

  // Each writer pauses after the named step, the disk is filled, and it goes on: the next step
  // that needs space fails (the files, SQLite, the git objects, the ref, the index, COMMIT).
  it.each(['journal', 'files', 'insert', 'objects', 'ref', 'index'])(
    'stores nothing when the disk fills up after step "%s", and everything agrees after recover',
    async (step) => {
      const mount = mountTmpfs('3m');
      const dir = path.join(mount, 'store');
      const stored: string[] = [];
      for (const title of ['first', 'second']) {
        expect((await writer(dir, title).done).code).toBe(0);
        stored.push(title);
      }
      const hold = holdAt(step);
      const paused = writer(dir, 'paused', hold.env);
      await hold.reached();
      const filler = path.join(mount, 'filler');
      fillDisk(filler);
      hold.release();
      const result = await paused.done;
      expect(result.code).toBe(1);
      expect(result.json).toMatchObject({
        ok: false,
        error: { code: 'IO_ERROR', message: expect.stringMatching(/ENOSPC|disk is full/) },
      });
      fs.rmSync(filler);
      await recoverAndVerify(dir);
      expectStored(dir, stored);
      // And the store takes records again.
      expect((await writer(dir, 'after').done).code).toBe(0);
      expectStored(dir, [...stored, 'after']);
    },
  );
});

describe('a writer that decided to abort', () => {
  it('is rolled back by recovery although main holds its commit (killed after the decision)', async () => {
    const dir = path.join(fs.mkdtempSync('/tmp/lessons-abort-'), 'store');
    try {
      expect((await writer(dir, 'kept').done).code).toBe(0);
      const headBefore = storeState(dir).head;
      // The index step fails after main moved; the writer records its abort and is killed
      // before undoing anything: main still points at its commit.
      const killed = await writer(dir, 'aborted', {
        LESSONS_TEST_FAIL_AT: 'index',
        LESSONS_TEST_KILL_AT: 'aborted',
      }).done;
      expect(killed.code).toBe(null);
      expect(storeState(dir).head).not.toBe(headBefore);
      expect(git(dir, 'log', '-1', '--format=%s', 'main').trim()).toBe('failure: aborted');
      const journal = fs.readdirSync(path.join(dir, '.lessons', 'journal'));
      expect(journal).toHaveLength(1);
      expect(fs.readFileSync(path.join(dir, '.lessons', 'journal', journal[0]!), 'utf8')).toMatch(
        /^\{"state":"aborted",/,
      );

      const recovered = await lessons(['--dir', dir, '--json', 'recover']);
      expect(recovered.json).toMatchObject({
        ok: true,
        recovered: [{ action: 'rolled-back', reason: expect.stringContaining('aborted') }],
      });
      expect(storeState(dir).head).toBe(headBefore);
      expectStored(dir, ['kept']);
    } finally {
      fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    }
  });

  it('keeps a commit a person made on top of the aborted one, and removes the record in a new commit', async () => {
    const dir = path.join(fs.mkdtempSync('/tmp/lessons-abort-'), 'store');
    try {
      expect((await writer(dir, 'kept').done).code).toBe(0);
      await writer(dir, 'aborted', {
        LESSONS_TEST_FAIL_AT: 'index',
        LESSONS_TEST_KILL_AT: 'aborted',
      }).done;
      // The person's own git commits on top of the aborted commit before anyone recovers.
      fs.writeFileSync(path.join(dir, 'NOTES'), 'my notes\n');
      git(dir, 'add', 'NOTES');
      git(dir, 'commit', '-q', '-m', 'my notes');
      const personal = storeState(dir).head!;

      const recovered = await lessons(['--dir', dir, '--json', 'recover']);
      expect(recovered.code, recovered.stderr).toBe(0);
      const head = storeState(dir).head!;
      expect(git(dir, 'rev-parse', `${head}^`).trim()).toBe(personal);
      expect(git(dir, 'log', '-1', '--format=%B', head)).toContain('Lessons-Undo-Txid:');
      expect(git(dir, 'show', `${head}:NOTES`)).toBe('my notes\n');
      // HEAD holds none of it; its history does (a commit a person built on is not rewritten).
      expectStored(dir, ['kept'], ['aborted']);
      const verified = await lessons(['--dir', dir, '--json', 'verify']);
      expect(verified.json).toMatchObject({ ok: true });
    } finally {
      fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    }
  });
});
