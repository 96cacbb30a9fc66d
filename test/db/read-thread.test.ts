// The read thread of rebuilds of index.db (src/db/read-thread.ts): the second half of a tree's
// files read and parsed on a second core. LESSONS_TEST_READ_THREAD_FROM sets the number of
// files from which it starts (0: always; huge: never), so one store is reindexed both ways and
// the indexes compared; LESSONS_TRACE shows which way ran.

import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/index.js';
import { consistencyProblems, git, lessons, tempStore } from '../helpers/store.js';

const THREAD = { LESSONS_TEST_READ_THREAD_FROM: '0', LESSONS_TRACE: '1' };
const INLINE = { LESSONS_TEST_READ_THREAD_FROM: '999999999', LESSONS_TRACE: '1' };

/** Everything a reader can see of index.db, and SQLite's own verdict on it. */
function indexContent(dir: string) {
  const db = new BetterSqlite3(path.join(dir, 'index.db'), { readonly: true });
  try {
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
  return { ...result, json, threaded: result.stderr.includes('lessons-trace read-thread started') };
}

describe('the read thread of a rebuild', () => {
  it('builds the index the inline read builds: edited, missing and unparseable files too', async () => {
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
    git(dir, 'add', broken);
    git(dir, 'commit', '-q', '-m', 'by hand');

    const threaded = await reindex(dir, THREAD);
    expect(threaded.code).toBe(0);
    expect(threaded.threaded).toBe(true);
    expect(threaded.stderr).toContain('lessons-trace read-thread answers');
    expect(threaded.json).toMatchObject({
      rows: 60,
      events: 1,
      unparseable: [{ path: broken, reason: expect.stringContaining('front matter') }],
    });
    const built = indexContent(dir);
    expect(built.integrity).toBe('ok');
    expect(built.records).toHaveLength(60);
    expect(built.records).toContainEqual(
      expect.objectContaining({ id: heuristic.id, validations: 1 }),
    );
    expect(built.found).toHaveLength(60);

    const inline = await reindex(dir, INLINE);
    expect(inline.code).toBe(0);
    expect(inline.threaded).toBe(false);
    expect(inline.json).toEqual(threaded.json);
    expect(indexContent(dir)).toEqual(built);

    // reindex changed no file and no commit: the edit, the removal and the commit stand.
    const status = git(dir, 'status', '--porcelain')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
    expect(status.sort()).toEqual([`M ${edited!.path}`, `D ${removed!.path}`].sort());
    git(dir, 'checkout', '--', edited!.path, removed!.path);
    git(dir, 'rm', '-q', broken);
    git(dir, 'commit', '-q', '-m', 'broken file removed');
    expect((await reindex(dir, THREAD)).code).toBe(0);
    expect(consistencyProblems(dir)).toEqual([]);
  });
});
