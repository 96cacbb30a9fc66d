// Reading a store with native tools (git, sqlite), for tests and the stress harness alike.
// No vitest imports here: stress/ uses this module outside the test runner.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';

/** Native git in `dir`, with the test's pinned environment. */
export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    env: {
      ...process.env,
      GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z',
      GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z',
      GIT_AUTHOR_NAME: 'Native Git',
      GIT_AUTHOR_EMAIL: 'native@git.invalid',
      GIT_COMMITTER_NAME: 'Native Git',
      GIT_COMMITTER_EMAIL: 'native@git.invalid',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface RowState {
  readonly rowid: number;
  readonly id: string;
  readonly kind: string;
  readonly path: string;
  readonly title: string;
  readonly blob_oid: string;
  readonly commit_oid: string;
}

/** Everything a test asserts about a store, read with native tools. */
export interface StoreState {
  readonly head: string | undefined;
  readonly commits: number;
  /** Record files in the work tree: path -> sha1 of the git blob. */
  readonly files: Record<string, string>;
  /** Record files in HEAD's tree: path -> blob id. */
  readonly tree: Record<string, string>;
  /** `git ls-files -s` for record paths: path -> blob id. */
  readonly index: Record<string, string>;
  readonly rows: readonly RowState[];
  readonly status: string;
  readonly journal: readonly string[];
}

function blobId(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

function walk(dir: string, base = ''): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const rel = base === '' ? entry.name : `${base}/${entry.name}`;
    return entry.isDirectory() ? walk(path.join(dir, entry.name), rel) : [rel];
  });
}

const RECORD = /^(failures|heuristics|events)\//;

/** The rows of `records` (records only; events: readEventRows). */
export function readRows(dir: string): RowState[] {
  return query(
    dir,
    'SELECT rowid, id, kind, path, title, blob_oid, commit_oid FROM records ORDER BY rowid',
  );
}

/** The rows of lifecycle events (schema 3), shaped as record rows of kind 'event'. */
export function readEventRows(dir: string): RowState[] {
  return query(
    dir,
    "SELECT rowid, id, 'event' AS kind, path, verb AS title, blob_oid, commit_oid FROM events ORDER BY rowid",
    'events',
  );
}

function query(dir: string, sql: string, table = 'records'): RowState[] {
  const file = path.join(dir, 'index.db');
  if (!fs.existsSync(file)) return [];
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const exists = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
      .get(table);
    return exists === undefined ? [] : (db.prepare(sql).all() as RowState[]);
  } finally {
    db.close();
  }
}

/** `rows: false` skips reading index.db (when a test has made it unreadable on purpose). */
export function storeState(dir: string, options: { rows?: boolean } = {}): StoreState {
  const hasRepo = fs.existsSync(path.join(dir, '.git', 'HEAD'));
  let head: string | undefined;
  if (hasRepo) {
    try {
      head = git(dir, 'rev-parse', '--verify', '-q', 'refs/heads/main').trim();
    } catch {
      head = undefined;
    }
  }
  const files: Record<string, string> = {};
  for (const root of ['failures', 'heuristics', 'events']) {
    for (const rel of walk(path.join(dir, root)))
      files[`${root}/${rel}`] = blobId(fs.readFileSync(path.join(dir, root, rel)));
  }
  const tree: Record<string, string> = {};
  const index: Record<string, string> = {};
  if (head !== undefined) {
    for (const line of git(dir, 'ls-tree', '-r', 'HEAD').split('\n').filter(Boolean)) {
      const [meta, p] = line.split('\t') as [string, string];
      if (RECORD.test(p)) tree[p] = meta.split(' ')[2]!;
    }
    for (const line of git(dir, 'ls-files', '-s').split('\n').filter(Boolean)) {
      const [meta, p] = line.split('\t') as [string, string];
      if (RECORD.test(p)) index[p] = meta.split(' ')[1]!;
    }
  }
  return {
    head,
    commits: head === undefined ? 0 : Number(git(dir, 'rev-list', '--count', 'HEAD').trim()),
    files,
    tree,
    index,
    rows: options.rows === false ? [] : [...readRows(dir), ...readEventRows(dir)],
    status: hasRepo ? git(dir, 'status', '--porcelain', '--untracked-files=all') : '',
    journal: walk(path.join(dir, '.lessons', 'journal')),
  };
}

/** Native checks: git fsck clean, SQLite integrity ok. Returns problems (empty when healthy). */
export function nativeChecks(dir: string): string[] {
  const problems: string[] = [];
  try {
    git(dir, 'fsck', '--strict', '--full', '--no-dangling');
  } catch (error) {
    problems.push(`git fsck: ${(error as { stderr?: string }).stderr ?? String(error)}`);
  }
  const file = path.join(dir, 'index.db');
  if (fs.existsSync(file)) {
    const db = new BetterSqlite3(file, { readonly: true });
    try {
      const result = db.pragma('integrity_check', { simple: true });
      if (result !== 'ok') problems.push(`sqlite integrity_check: ${String(result)}`);
    } finally {
      db.close();
    }
  }
  return problems;
}

/**
 * The store agrees with itself: HEAD tree = index = work tree = rows (paths and blob ids),
 * clean status, no journal entry, fsck and integrity_check clean. Returns the problems.
 */
export function consistencyProblems(dir: string): string[] {
  const state = storeState(dir);
  const problems = nativeChecks(dir);
  const same = (a: Record<string, string>, b: Record<string, string>): boolean =>
    JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
  const rows = Object.fromEntries(state.rows.map((r) => [r.path, r.blob_oid]));
  if (!same(state.tree, state.files))
    problems.push(`work tree differs from HEAD: ${diffKeys(state.tree, state.files)}`);
  if (!same(state.tree, state.index))
    problems.push(`index differs from HEAD: ${diffKeys(state.tree, state.index)}`);
  if (!same(state.tree, rows))
    problems.push(`rows differ from HEAD: ${diffKeys(state.tree, rows)}`);
  if (state.status !== '') problems.push(`git status not clean:\n${state.status}`);
  if (state.journal.length > 0) problems.push(`journal not empty: ${state.journal.join(', ')}`);
  if (state.rows.some((r) => !(r.rowid > 0))) problems.push('a row has rowid <= 0');
  return problems;
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function diffKeys(a: Record<string, string>, b: Record<string, string>): string {
  const out: string[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)]))
    if (a[k] !== b[k]) out.push(`${k}: ${a[k] ?? '-'} vs ${b[k] ?? '-'}`);
  return out.slice(0, 5).join('; ');
}
