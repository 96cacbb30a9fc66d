// The read thread of rebuilds of index.db (src/db/read-thread.ts): a tree's files read and
// parsed a chunk at a time by the main thread and a worker thread, while the main thread
// inserts the rows (Database.beginFill). LESSONS_TEST_READ_THREAD_FROM sets the number of
// files from which the thread starts (0: always; huge: never) and LESSONS_TEST_READ_THREAD_FIRST
// makes the thread take the first chunk, so one store is reindexed both ways and the indexes
// compared; LESSONS_TRACE shows which way ran.

import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/index.js';
import { consistencyProblems, git, lessons, tempStore } from '../helpers/store.js';

const THREAD = {
  LESSONS_TEST_READ_THREAD_FROM: '0',
  LESSONS_TEST_READ_THREAD_FIRST: '1',
  LESSONS_TRACE: '1',
};
const INLINE = { LESSONS_TEST_READ_THREAD_FROM: '999999999', LESSONS_TRACE: '1' };

/** Everything a reader can see of index.db, and SQLite's and FTS5's own verdicts on it. */
function indexContent(dir: string) {
  const db = new BetterSqlite3(path.join(dir, 'index.db'));
  try {
    // Throws SQLITE_CORRUPT_VTAB when the full-text index does not match the rows.
    db.prepare("INSERT INTO records_fts (records_fts) VALUES ('integrity-check')").run();
    return {
      integrity: db.pragma('integrity_check', { simple: true }),
      records: db.prepare('SELECT * FROM records ORDER BY rowid').all(),
      events: db.prepare('SELECT * FROM events ORDER BY rowid').all(),
      tags: db.prepare('SELECT * FROM record_tags ORDER BY rowid_ref, tag').all(),
      found: db
        .prepare("SELECT rowid FROM records_fts WHERE records_fts MATCH 'cache' ORDER BY rowid")
        .all(),
    };
  } finally {
    db.close();
  }
}

async function reindex(dir: string, env: Record<string, string>) {
  const result = await lessons(['--dir', dir, '--json', 'reindex'], { env });
  const { seconds: _seconds, ...json } = result.json as Record<string, unknown>;
  const answered = /lessons-trace read-thread answered (\d+) of (\d+) chunks/.exec(result.stderr);
  return {
    ...result,
    json,
    threaded: result.stderr.includes('lessons-trace read-thread started'),
    /** Chunks the thread read, and of how many. */
    chunks: answered === null ? undefined : [Number(answered[1]), Number(answered[2])],
  };
}

describe('the read thread of a rebuild', () => {
  it('builds the index the inline read builds: edited, missing, unparseable and misnamed files too', async () => {
    const dir = tempStore();
    const store = await openStore({ dir });
    const made = await store.recordMany(
      Array.from({ length: 60 }, (_, i) =>
        i % 3 === 0
          ? {
              kind: 'heuristic' as const,
              rule: `Rule ${i}: warm the cache first`,
              domain: 'infra',
              tags: ['cache'],
            }
          : {
              kind: 'failure' as const,
              title: `Failure ${i}: the cache broke`,
              domain: 'infra',
              tags: ['cache', `t${i % 5}`],
            },
      ),
    );
    await store.close();
    const heuristic = made.find((r) => r.path.startsWith('heuristics/'))!;
    expect((await lessons(['--dir', dir, 'validate', heuristic.id])).code).toBe(0);
    // Files the thread cannot take from the folder: one edited, one removed (both read from
    // git), and a committed file that does not parse (reported, not indexed).
    const [edited, removed] = made.filter((r) => r.path.startsWith('failures/')).slice(-2);
    fs.appendFileSync(path.join(dir, edited!.path), '\nedited by hand\n');
    fs.rmSync(path.join(dir, removed!.path));
    const broken = 'failures/2026/01/01JAAAAAAAAAAAAAAAAAAAAAAA-broken.md';
    fs.mkdirSync(path.dirname(path.join(dir, broken)), { recursive: true });
    fs.writeFileSync(path.join(dir, broken), 'no front matter here\n');
    // A record whose file name does not begin with its id (a person renamed it, or changed the
    // id): its row comes out of the order of the names, and must still end in id order.
    const donor = made.find((r) => r.path.startsWith('failures/'))!;
    const misnamedId = '7ZZZZZZZZZZZZZZZZZZZZZZZZZ';
    const misnamed = 'failures/2026/01/01J0000000000000000000000-misnamed.md';
    fs.writeFileSync(
      path.join(dir, misnamed),
      fs.readFileSync(path.join(dir, donor.path), 'utf8').replace(donor.id, misnamedId),
    );
    git(dir, 'add', broken, misnamed);
    git(dir, 'commit', '-q', '-m', 'by hand');

    const threaded = await reindex(dir, THREAD);
    expect(threaded.code).toBe(0);
    expect(threaded.threaded).toBe(true);
    expect(threaded.chunks![0]).toBeGreaterThan(0);
    expect(threaded.chunks![1]).toBeGreaterThan(1);
    expect(threaded.json).toMatchObject({
      rows: 61,
      events: 1,
      unparseable: [{ path: broken, reason: expect.stringContaining('front matter') }],
    });
    const built = indexContent(dir);
    expect(built.integrity).toBe('ok');
    expect(built.records).toHaveLength(61);
    expect(built.records).toContainEqual(
      expect.objectContaining({ id: heuristic.id, validations: 1 }),
    );
    // Rows in id order, numbered from 1, the misnamed one last.
    const ids = built.records.map((r) => (r as { id: string }).id);
    expect(ids).toEqual([...ids].sort());
    expect(built.records.map((r) => (r as { rowid: number }).rowid)).toEqual(
      ids.map((_, i) => i + 1),
    );
    expect(built.records.at(-1)).toMatchObject({ id: misnamedId, path: misnamed });
    expect(built.found).toHaveLength(61);

    const inline = await reindex(dir, INLINE);
    expect(inline.code).toBe(0);
    expect(inline.threaded).toBe(false);
    expect(inline.chunks).toBeUndefined();
    expect(inline.json).toEqual(threaded.json);
    expect(indexContent(dir)).toEqual(built);

    // reindex changed no file and no commit: the edit, the removal and the commit stand.
    const status = git(dir, 'status', '--porcelain')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
    expect(status.sort()).toEqual([`M ${edited!.path}`, `D ${removed!.path}`].sort());
    git(dir, 'checkout', '--', edited!.path, removed!.path);
    git(dir, 'rm', '-q', broken, misnamed);
    git(dir, 'commit', '-q', '-m', 'broken file removed');
    expect((await reindex(dir, THREAD)).code).toBe(0);
    expect(consistencyProblems(dir)).toEqual([]);
  });
});
