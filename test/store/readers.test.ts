import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/index.js';
import { consistencyProblems, lessons, tempStore } from '../helpers/store.js';

describe('a long-lived store reading with its connection kept open', () => {
  it('sees what other writers, reindex and a deleted index.db did between its reads', async () => {
    const dir = tempStore();
    const reader = await openStore({ dir });
    const writer = await openStore({ dir });
    await expect(reader.list()).rejects.toMatchObject({ code: 'NOT_A_STORE' });

    await writer.recordFailure({ title: 'first', domain: 'd' });
    expect((await reader.list()).map((r) => r.title)).toEqual(['first']);
    await writer.recordFailure({ title: 'second', domain: 'd' });
    expect((await reader.search('second')).map((h) => h.record.title)).toEqual(['second']);

    // Another process replaces index.db: the kept connection is on the old file, and let go.
    const before = fs.statSync(path.join(dir, 'index.db')).ino;
    expect((await lessons(['--dir', dir, 'reindex'])).code).toBe(0);
    expect(fs.statSync(path.join(dir, 'index.db')).ino).not.toBe(before);
    expect(
      (await lessons(['--dir', dir, 'record-failure', '--title', 'third', '--domain', 'd'])).code,
    ).toBe(0);
    expect((await reader.list()).map((r) => r.title)).toEqual(['third', 'second', 'first']);

    // Deleted: built again from HEAD by the next read (a missing index is not a finding), never
    // read from the old file's rows.
    for (const suffix of ['', '-wal', '-shm'])
      fs.rmSync(path.join(dir, `index.db${suffix}`), { force: true });
    expect((await reader.list()).map((r) => r.title)).toEqual(['third', 'second', 'first']);
    await writer.recordFailure({ title: 'fourth', domain: 'd' });
    expect((await reader.list()).map((r) => r.title)).toEqual([
      'fourth',
      'third',
      'second',
      'first',
    ]);

    await writer.close();
    await reader.close();
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('lets a read in flight finish on the file it began with when index.db is replaced', async () => {
    const dir = tempStore();
    const store = await openStore({ dir });
    await store.recordFailure({ title: 'only', domain: 'd' });
    await store.list();
    // stats awaits git between its queries; the file is replaced meanwhile by a reindex.
    const [stats] = await Promise.all([store.stats(), store.reindex()]);
    expect(stats.records).toBe(1);
    expect((await store.list()).map((r) => r.title)).toEqual(['only']);
    await store.close();
  });
});
