// import-elf on the real memory directory of the shell-script framework (read-only fixture).
//
// Counts derived by reading the fixture (see its NOTICE.md), with --include-backups:
// - failures/: 6 Markdown files; failures.backup/ (and failures.backup/failures/): 133 Markdown
//   files besides TEMPLATE.md, plus secrets.txt (not an entry).
// - index.db learnings: 31 rows of type failure, 7 of type success. Of the failure rows only #300
//   names a file that exists (failures/20251201_fixed-git-lock-contention-in-record-scripts.md).
//   So failures: 1 joined, 30 row only, 6 + 133 - 1 = 138 file only: 169.
// - heuristics/: 48 `## H-<n>:` sections, 48 older single-entry files (TEMPLATE.md aside) and 2
//   JSON lines in swarm-patterns.jsonl: 98 entries. index.db heuristics: 90 rows, of which 47 have
//   the same domain and rule as an entry (checked with a separate script when writing this test).
//   So heuristics: 47 joined, 43 row only, 51 file only: 141.
// - successes/: 58 files besides TEMPLATE.md, plus the 7 success rows: 65 entries not modelled.

import { createHash } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/writers.js';
import { consistencyProblems, git, lessons, readRows, tempStore } from '../helpers/store.js';

const FIXTURE = path.join(ROOT, 'test/fixtures/elf-memory');

function fixtureHashes(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(FIXTURE, rel))) {
      const p = rel === '' ? name : `${rel}/${name}`;
      if (fs.statSync(path.join(FIXTURE, p)).isDirectory()) walk(p);
      else
        out[p] = createHash('sha256')
          .update(fs.readFileSync(path.join(FIXTURE, p)))
          .digest('hex');
    }
  };
  walk('');
  return out;
}

interface Row {
  title: string;
  body: string;
  created: string;
  imported_from: string | null;
}

function allRows(dir: string): Row[] {
  const db = new BetterSqlite3(path.join(dir, 'index.db'), { readonly: true });
  try {
    return db.prepare('SELECT title, body, created, imported_from FROM records').all() as Row[];
  } finally {
    db.close();
  }
}

interface Origin {
  file?: string;
  row?: { table: string; id: number };
  original?: { title?: string };
}

function origin(row: Row): Origin {
  return JSON.parse(row.imported_from ?? '{}') as Origin;
}

/** `lessons --dir <dir> --json import-elf <fixture> --include-backups ...`. */
function importFixture(dir: string, ...extra: string[]) {
  return lessons(['--dir', dir, '--json', 'import-elf', FIXTURE, '--include-backups', ...extra]);
}

interface Report {
  failures: Record<string, number>;
  heuristics: Record<string, number>;
  alreadyImported: number;
  unmodelled: { type: string; count: number; paths: string[] }[];
  skipped: { path: string; reason: string }[];
  unparseable: unknown[];
  commit: string | null;
}

describe('import-elf on the fixture', () => {
  it('imports every entry once, in one commit, and leaves the fixture untouched', async () => {
    const before = fixtureHashes();
    const dir = tempStore();

    const dry = await importFixture(dir, '--dry-run');
    expect(dry.code).toBe(0);
    expect(fs.existsSync(dir)).toBe(false);

    const first = await importFixture(dir);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const report = first.json as unknown as Report;
    expect(report.failures).toEqual({ imported: 169, joined: 1, fileOnly: 138, rowOnly: 30 });
    expect(report.heuristics).toEqual({ imported: 141, joined: 47, fileOnly: 51, rowOnly: 43 });
    expect(dry.json).toMatchObject({
      failures: report.failures,
      heuristics: report.heuristics,
      commit: null,
    });
    expect(report.alreadyImported).toBe(0);
    expect(report.unparseable).toEqual([]);
    expect(report.unmodelled.map((u) => [u.type, u.count])).toEqual([['success', 65]]);
    expect(report.skipped.map((s) => s.path).sort()).toEqual([
      'failures.backup/TEMPLATE.md',
      'failures.backup/failures/secrets.txt',
      'heuristics/TEMPLATE.md',
    ]);

    // One commit on top of the store's first, holding all 310 records, consistent everywhere.
    expect(git(dir, 'rev-list', '--count', 'HEAD').trim()).toBe('2');
    expect(git(dir, 'rev-parse', 'HEAD').trim()).toBe(report.commit);
    expect(readRows(dir)).toHaveLength(310);
    expect(consistencyProblems(dir)).toEqual([]);
    const verify = await lessons(['--dir', dir, '--json', 'verify', '--deep']);
    expect(verify.json).toMatchObject({ ok: true, records: 310 });

    // A second run adds nothing.
    const head = git(dir, 'rev-parse', 'HEAD').trim();
    const second = await importFixture(dir);
    expect(second.code).toBe(0);
    expect(second.json).toMatchObject({
      alreadyImported: 310,
      failures: { imported: 0 },
      heuristics: { imported: 0 },
      commit: null,
    });
    expect(git(dir, 'rev-parse', 'HEAD').trim()).toBe(head);

    expect(fixtureHashes()).toEqual(before);
  });

  it('keeps titles with SQL, non-ASCII text, original ids and empty bodies as they were', async () => {
    const dir = tempStore();
    expect((await importFixture(dir)).code).toBe(0);
    const rows = allRows(dir);
    const byTitle = (title: string) => rows.filter((r) => r.title === title);
    expect(byTitle("'; DROP TABLE learnings; --")).toHaveLength(1);
    expect(byTitle('测试失败 Chinese test')).toHaveLength(1);
    expect(byTitle('🔥💻🚀 Test Title')).toHaveLength(1);
    expect(byTitle('../../../etc/passwd')).toHaveLength(1);

    // A file's bytes come through in the body; its origin in imported_from.
    const joined = rows.find((r) => r.title === 'Fixed git lock contention in record scripts')!;
    const original = fs.readFileSync(
      path.join(FIXTURE, 'failures/20251201_fixed-git-lock-contention-in-record-scripts.md'),
      'utf8',
    );
    expect(joined.body).toContain(original);
    expect(origin(joined)).toMatchObject({
      from: 'elf',
      file: 'failures/20251201_fixed-git-lock-contention-in-record-scripts.md',
      row: { table: 'learnings', id: 300 },
    });

    // A heuristic row with no file and no explanation: its empty body stays empty (only the
    // heading lessons puts on every record).
    const bare = rows.find(
      (r) => origin(r).row?.table === 'heuristics' && origin(r).row?.id === 42,
    )!;
    expect(bare.title).toBe('FinalTest2');
    expect(bare.body).toBe('# FinalTest2\n');

    // A title with line breaks is stored on one line; the original is kept exactly.
    const multi = rows.find((r) => origin(r).row?.id === 278)!;
    expect(multi.title).toBe("TestTitle'; DROP TABLE learnings; --");
    expect(origin(multi).original?.title).toBe("TestTitle';\nDROP TABLE learnings;\n--");

    // Dates come from the entries, not the import.
    expect(joined.created).toBe('2025-12-01T00:00:00.000Z');
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('refuses a folder that is not a memory directory, exit 2, nothing written', async () => {
    const dir = tempStore();
    const result = await lessons(['--dir', dir, '--json', 'import-elf', path.join(ROOT, 'docs')]);
    expect(result.code).toBe(2);
    expect(result.json).toMatchObject({ ok: false, error: { code: 'IMPORT_SOURCE' } });
    expect(fs.existsSync(dir)).toBe(false);
  });
});
