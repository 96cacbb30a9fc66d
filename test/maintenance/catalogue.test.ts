// A catalogue of corruptions, each made by hand in a real store. For each: verify reports
// exactly the expected code, `cleanup --dry-run` changes nothing, cleanup repairs it, verify is
// clean afterwards, native git and SQLite agree, and the quarantine holds every removed byte.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/index.js';
import { FINDING_HINTS } from '../../src/maintenance/findings.js';
import {
  consistencyProblems,
  git,
  lessons,
  readRows,
  startWriterKilledAt,
  tempStore,
} from '../helpers/store.js';

interface Seeded {
  readonly dir: string;
  readonly failure: string;
  readonly heuristic: string;
}

async function seeded(): Promise<Seeded> {
  const dir = tempStore();
  const store = await openStore({ dir });
  const [failure, heuristic] = await store.recordMany([
    { kind: 'failure', title: 'Cache stampede', domain: 'infra', severity: 'high', summary: 'x' },
    { kind: 'heuristic', rule: 'Jitter every retry', domain: 'infra' },
  ]);
  await store.recordFailure({ title: 'Disk full', domain: 'ops' });
  await store.close();
  return { dir, failure: failure!.path, heuristic: heuristic!.path };
}

/**
 * sha256 of every file in the store, but SQLite's scratch files: any reader of a WAL database
 * maps -shm and may create an empty -wal; neither holds data.
 */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(dir, rel))) {
      const p = rel === '' ? name : `${rel}/${name}`;
      const stat = fs.lstatSync(path.join(dir, p));
      if (stat.isDirectory()) walk(p);
      else if (stat.isSocket()) out[p] = 'socket';
      else if (!p.endsWith('index.db-shm') && !(p.endsWith('index.db-wal') && stat.size === 0))
        out[p] = createHash('sha256')
          .update(fs.readFileSync(path.join(dir, p)))
          .digest('hex');
    }
  };
  walk('');
  return out;
}

/** Every file cleanup put in quarantine, by its original path. */
function quarantined(dir: string): Map<string, Buffer> {
  const root = path.join(dir, '.lessons', 'quarantine');
  const out = new Map<string, Buffer>();
  if (!fs.existsSync(root)) return out;
  for (const run of fs.readdirSync(root)) {
    const manifest = JSON.parse(fs.readFileSync(path.join(root, run, 'manifest.json'), 'utf8')) as {
      items: { from: string; to: string; bytes: number }[];
    };
    for (const item of manifest.items) {
      const bytes = fs.readFileSync(path.join(dir, item.to));
      expect(bytes.length).toBe(item.bytes);
      out.set(item.from, bytes);
    }
  }
  return out;
}

function rows(dir: string): Record<string, unknown>[] {
  return readRows(dir) as unknown as Record<string, unknown>[];
}

interface Case {
  readonly name: string;
  readonly code: string;
  readonly deep?: boolean;
  readonly grace?: string;
  /** Corrupt the store; return the bytes cleanup must keep in quarantine, by path. */
  readonly corrupt: (s: Seeded) => Promise<Map<string, Buffer>> | Map<string, Buffer>;
  /** Extra checks after cleanup. */
  readonly after?: (s: Seeded, headBefore: string) => void;
}

const none = (): Map<string, Buffer> => new Map();

const CASES: Case[] = [
  {
    name: 'a deleted file',
    code: 'FILE_MISSING',
    corrupt: ({ dir, failure }) => {
      fs.rmSync(path.join(dir, failure));
      return none();
    },
  },
  {
    name: 'a truncated file',
    code: 'FILE_UNPARSEABLE',
    corrupt: ({ dir, failure }) => {
      const file = path.join(dir, failure);
      fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 12));
      return new Map([[failure, fs.readFileSync(file)]]);
    },
  },
  {
    name: 'front matter edited to disagree with the row',
    code: 'FIELD_MISMATCH',
    corrupt: ({ dir, heuristic }) => {
      const file = path.join(dir, heuristic);
      const text = fs
        .readFileSync(file, 'utf8')
        .replace(/^id: .*$/m, 'id: 01ARZ3NDEKTSV4RRFFQ69G5FAV');
      fs.writeFileSync(file, text);
      return new Map([[heuristic, Buffer.from(text)]]);
    },
  },
  {
    name: 'a valid edit by a person',
    code: 'FILE_MODIFIED',
    corrupt: ({ dir, failure }) => {
      const file = path.join(dir, failure);
      fs.writeFileSync(
        file,
        fs
          .readFileSync(file, 'utf8')
          .replace('title: Cache stampede', 'title: Cache stampede at noon'),
      );
      return none();
    },
    after: ({ dir, failure }, headBefore) => {
      expect(git(dir, 'log', '-1', '--format=%s').trim()).toBe('lessons: adopt edits to 1 record');
      expect(git(dir, 'rev-parse', 'HEAD~1').trim()).toBe(headBefore);
      expect(git(dir, 'show', `HEAD:${failure}`)).toContain('title: Cache stampede at noon');
      expect(rows(dir).find((r) => r.path === failure)?.title).toBe('Cache stampede at noon');
    },
  },
  {
    name: 'a deleted row',
    code: 'ROW_MISSING',
    corrupt: ({ dir, heuristic }) => {
      const db = new BetterSqlite3(path.join(dir, 'index.db'));
      db.prepare('DELETE FROM records WHERE path = ?').run(heuristic);
      db.close();
      return none();
    },
  },
  {
    name: 'a row with no commit',
    code: 'ROW_ORPHAN',
    corrupt: ({ dir }) => {
      const db = new BetterSqlite3(path.join(dir, 'index.db'));
      db.prepare(
        `INSERT INTO records (id, kind, path, title, domain, created, severity, body, blob_oid, commit_oid, txid)
         VALUES ('01ARZ3NDEKTSV4RRFFQ69G5FAV', 'failure', 'failures/2020/01/01ARZ3NDEKTSV4RRFFQ69G5FAV-ghost.md',
                 'ghost', 'ops', '2020-01-01T00:00:00.000Z', 3, '', '${'0'.repeat(40)}', '${'0'.repeat(40)}', 'lost')`,
      ).run();
      db.close();
      return none();
    },
    after: ({ dir }) => {
      const kept = quarantined(dir).get('rows/01ARZ3NDEKTSV4RRFFQ69G5FAV.json');
      expect(JSON.parse(kept!.toString('utf8'))).toMatchObject({ title: 'ghost', txid: 'lost' });
    },
  },
  {
    name: 'an untracked record file',
    code: 'FILE_UNTRACKED',
    grace: '0s',
    corrupt: ({ dir }) => {
      const bytes = Buffer.from('---\ntitle: notes a person left\n---\nhello\n');
      fs.writeFileSync(path.join(dir, 'failures', 'notes.md'), bytes);
      return new Map([['failures/notes.md', bytes]]);
    },
  },
  {
    name: 'a stray temp file',
    code: 'TEMP_FILE',
    corrupt: ({ dir, heuristic }) => {
      // The pid in its name is far above pid_max: its writer is certainly gone.
      const stray = `${heuristic}.tmp-99999999-0badc0de`;
      fs.writeFileSync(path.join(dir, stray), 'half a rec');
      return new Map([[stray, Buffer.from('half a rec')]]);
    },
  },
  {
    name: 'a pending journal entry',
    code: 'JOURNAL_PENDING',
    corrupt: async ({ dir }) => {
      const killed = await startWriterKilledAt(dir, 'journal');
      expect(killed.signal).toBe('SIGKILL');
      return none();
    },
    after: ({ dir }) => {
      expect(fs.readdirSync(path.join(dir, '.lessons', 'journal'))).toEqual([]);
      expect(rows(dir)).toHaveLength(3);
    },
  },
  {
    name: 'garbage written into index.db',
    code: 'SQLITE_CORRUPT',
    corrupt: ({ dir }) => {
      const file = path.join(dir, 'index.db');
      const db = new BetterSqlite3(file);
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
      const bytes = fs.readFileSync(file);
      bytes.fill(0x5a, 0, 4096);
      fs.writeFileSync(file, bytes);
      return new Map([['index.db', bytes]]);
    },
    after: ({ dir }) => expect(rows(dir)).toHaveLength(3),
  },
  {
    name: 'a corrupt loose git object',
    code: 'GIT_OBJECT_CORRUPT',
    deep: true,
    corrupt: ({ dir, failure }) => {
      const oid = git(dir, 'rev-parse', `HEAD:${failure}`).trim();
      const rel = `.git/objects/${oid.slice(0, 2)}/${oid.slice(2)}`;
      const file = path.join(dir, rel);
      fs.chmodSync(file, 0o644);
      const bytes = fs.readFileSync(file);
      bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0xff;
      fs.writeFileSync(file, bytes);
      return new Map([[rel, bytes]]);
    },
  },
  {
    name: 'a row edited in index.db, its file and blob as committed',
    code: 'FIELD_MISMATCH',
    deep: true,
    corrupt: ({ dir, heuristic }) => {
      const db = new BetterSqlite3(path.join(dir, 'index.db'));
      db.prepare('UPDATE records SET confidence = 0.25 WHERE path = ?').run(heuristic);
      db.close();
      return none();
    },
    after: ({ dir, heuristic }) =>
      expect(rows(dir).find((r) => r.path === heuristic)?.confidence).not.toBe(0.25),
  },
  {
    name: 'a deleted .git/index',
    code: 'GIT_INDEX_STALE',
    corrupt: ({ dir }) => {
      fs.rmSync(path.join(dir, '.git', 'index'));
      return none();
    },
  },
];

describe('the corruption catalogue', () => {
  it.each(CASES)('$name: verify says $code, cleanup repairs it', async (c) => {
    const s = await seeded();
    const { dir } = s;
    const headBefore = git(dir, 'rev-parse', 'HEAD').trim();
    const removed = await c.corrupt(s);
    const deep = c.deep === true ? ['--deep'] : [];

    const verify = await lessons(['--dir', dir, '--json', 'verify', ...deep]);
    expect(verify.code).toBe(1);
    const findings = verify.json!.findings as { code: string; hint: string }[];
    expect(findings.map((f) => f.code)).toEqual([c.code]);
    expect(findings[0]!.hint).toMatch(/lessons|git/);

    const before = snapshot(dir);
    const grace = c.grace === undefined ? [] : ['--grace', c.grace];
    const dry = await lessons(['--dir', dir, '--json', 'cleanup', '--dry-run', ...grace, ...deep]);
    // ok and the exit code agree: something to repair is ok:false, exit 1, as for verify.
    expect(dry.json!.ok).toBe(false);
    expect(dry.code).toBe(1);
    expect((dry.json!.actions as { code: string }[]).map((a) => a.code)).toEqual([c.code]);
    expect(snapshot(dir)).toEqual(before);

    const cleanup = await lessons(['--dir', dir, '--json', 'cleanup', ...grace, ...deep]);
    expect(cleanup.stderr).toBe('');
    expect(cleanup.json).toMatchObject({ ok: true, remaining: [] });
    expect(cleanup.code).toBe(0);

    const after = await lessons(['--dir', dir, '--json', 'verify', '--deep']);
    expect(after.json).toMatchObject({ ok: true, findings: [] });
    expect(after.code).toBe(0);
    expect(consistencyProblems(dir)).toEqual([]);

    const kept = quarantined(dir);
    for (const [from, bytes] of removed) expect(kept.get(from)?.equals(bytes)).toBe(true);
    c.after?.(s, headBefore);
  });
});

describe('verify', () => {
  it('is clean on a healthy store, and writes a JUnit report CI can read', async () => {
    const { dir, failure } = await seeded();
    const junit = path.join(dir, '..', 'report.xml');
    const clean = await lessons(['--dir', dir, 'verify', '--junit', junit]);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(/^verify: clean\. 3 records agree/);
    expect(fs.readFileSync(junit, 'utf8')).toMatch(
      new RegExp(
        `<testsuites name="lessons verify" tests="${Object.keys(FINDING_HINTS).length}" failures="0"`,
      ),
    );

    fs.rmSync(path.join(dir, failure));
    const dirty = await lessons(['--dir', dir, 'verify', '--junit', junit]);
    expect(dirty.code).toBe(1);
    expect(dirty.stdout).toContain('FILE_MISSING (1)');
    expect(dirty.stdout).toContain('fix: run `lessons cleanup`');
    const xml = fs.readFileSync(junit, 'utf8');
    expect(xml).toMatch(/failures="1"/);
    expect(xml).toMatch(
      /<testcase classname="lessons.verify" name="FILE_MISSING">\s*<failure type="FILE_MISSING"/,
    );
  });

  it('exits 2 when there is no store, and creates nothing', async () => {
    const dir = tempStore();
    const result = await lessons(['--dir', dir, '--json', 'verify']);
    expect(result.code).toBe(2);
    expect(result.json).toMatchObject({ ok: false, error: { code: 'NOT_A_STORE' } });
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('never takes the lock or changes a byte', async () => {
    const { dir, failure } = await seeded();
    fs.rmSync(path.join(dir, failure));
    const before = snapshot(dir);
    expect((await lessons(['--dir', dir, 'verify', '--deep'])).code).toBe(1);
    expect(snapshot(dir)).toEqual(before);
  });
});

describe('reindex', () => {
  it('rebuilds index.db from HEAD in one step, keeping rowids unique and the rows equal', async () => {
    const { dir } = await seeded();
    const before = rows(dir).map(({ rowid: _rowid, txid: _txid, ...rest }) => rest);
    const result = await lessons(['--dir', dir, '--json', 'reindex']);
    expect(result.code).toBe(0);
    expect(result.json).toMatchObject({ ok: true, rows: 3, unparseable: [] });
    const after = rows(dir).map(({ rowid: _rowid, txid: _txid, ...rest }) => rest);
    expect(after).toEqual(before);
    expect(consistencyProblems(dir)).toEqual([]);
    const next = await lessons([
      '--dir',
      dir,
      '--json',
      'record-failure',
      '--title',
      'after',
      '--domain',
      'ops',
    ]);
    expect(next.code).toBe(0);
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('is the remedy for a corrupt index.db', async () => {
    const { dir } = await seeded();
    fs.writeFileSync(
      path.join(dir, 'index.db'),
      'this is not a database at all, just text'.repeat(200),
    );
    fs.rmSync(path.join(dir, 'index.db-wal'), { force: true });
    const result = await lessons(['--dir', dir, '--json', 'reindex']);
    expect(result.code).toBe(0);
    expect(rows(dir)).toHaveLength(3);
    expect(consistencyProblems(dir)).toEqual([]);
  });
});
