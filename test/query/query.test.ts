// The read side: list filters and sorts, show by id/prefix/rowid/path, FTS ranking and hostile
// search strings, the context digest's token budget, stats, and that nothing uncommitted is seen.

import { holdAt } from '../helpers/hold.js';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, openStore, type Store } from '../../src/index.js';
import { SEARCH_WINDOW, searchSql } from '../../src/query/reader.js';
import { estimateTokens, RELATED_COUNTED, TAG_SAMPLE } from '../../src/query/context.js';
import { startWriter } from '../helpers/writers.js';
import { consistencyProblems, lessons, tempStore } from '../helpers/store.js';

let dir: string;
let store: Store;
const ids: Record<string, string> = {};

beforeAll(async () => {
  dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lessons-query-')), 'store');
  store = await openStore({ dir, now: () => new Date('2026-03-10T12:00:00.000Z') });
  const early = await openStore({ dir, now: () => new Date('2025-12-01T08:00:00.000Z') });
  ids.old = (
    await early.recordFailure({
      title: 'Old outage',
      domain: 'ops',
      severity: 'critical',
      tags: ['dns'],
    })
  ).id;
  await early.close();
  const results = await store.recordMany([
    {
      kind: 'failure',
      title: 'Cache stampede',
      domain: 'infra',
      severity: 'high',
      tags: ['cache', 'retry'],
      summary: 'Every node rebuilt the cache',
      prevention: 'Jitter the expiry',
    },
    {
      kind: 'failure',
      title: 'Slow deploy',
      domain: 'infra',
      severity: 'low',
      tags: ['deploy'],
      summary: 'The stampede of retries made the deploy slow',
    },
    {
      kind: 'heuristic',
      rule: 'Jitter every retry',
      domain: 'infra',
      confidence: 'high',
      tags: ['retry'],
      explanation: 'Synchronised retries amplify outages',
    },
    {
      kind: 'heuristic',
      rule: 'Cap concurrent rebuilds',
      domain: 'infra',
      confidence: 'low',
      tags: ['cache'],
    },
    {
      kind: 'failure',
      title: 'Retry storm in billing',
      domain: 'billing',
      severity: 'medium',
      tags: ['retry'],
    },
    { kind: 'failure', title: 'Quote\'s "edge": -- /* */ 🚀 مرحبا', domain: 'unicode', tags: [] },
  ]);
  const names = ['stampede', 'deploy', 'jitter', 'cap', 'billing', 'odd'];
  results.forEach((r, i) => (ids[names[i]!] = r.id));
});

afterAll(async () => {
  await store.close();
  fs.rmSync(path.dirname(dir), { recursive: true, force: true });
});

/** The longest prefix two of the ids share (ids of one transaction are consecutive). */
function sharedPrefix(): string {
  const sorted = Object.values(ids).sort();
  let best = '';
  for (let i = 1; i < sorted.length; i++) {
    let n = 0;
    while (sorted[i]![n] === sorted[i - 1]![n]) n++;
    if (n > best.length) best = sorted[i]!.slice(0, n);
  }
  return best;
}

describe('list', () => {
  it('filters by kind, domain, tag and date, and limits', async () => {
    expect((await store.list({ kind: 'heuristic' })).map((r) => r.title).sort()).toEqual([
      'Cap concurrent rebuilds',
      'Jitter every retry',
    ]);
    expect((await store.list({ domain: 'INFRA' })).length).toBe(4);
    expect((await store.list({ tag: 'retry' })).map((r) => r.id).sort()).toEqual(
      [ids.stampede, ids.jitter, ids.billing].sort(),
    );
    expect((await store.list({ since: '2026-01-01' })).some((r) => r.id === ids.old)).toBe(false);
    expect((await store.list({ since: '2025-11-30' })).some((r) => r.id === ids.old)).toBe(true);
    expect(await store.list({ limit: 2 })).toHaveLength(2);
  });

  it('sorts by recency, severity and confidence', async () => {
    const recent = await store.list();
    expect(recent.at(-1)!.id).toBe(ids.old);
    const severity = await store.list({ sort: 'severity', kind: 'failure' });
    expect(severity.map((r) => r.severity)).toEqual([5, 4, 3, 3, 2]);
    const confidence = await store.list({ sort: 'confidence', kind: 'heuristic' });
    expect(confidence.map((r) => r.title)).toEqual([
      'Jitter every retry',
      'Cap concurrent rebuilds',
    ]);
  });

  it('refuses a bad date, limit or sort with the field named', async () => {
    await expect(store.list({ since: 'yesterday' })).rejects.toMatchObject({
      data: { field: 'since' },
    });
    await expect(store.list({ limit: 0 })).rejects.toMatchObject({ data: { field: 'limit' } });
    await expect(store.list({ sort: 'loud' as never })).rejects.toBeInstanceOf(InvalidInputError);
  });
});

describe('show', () => {
  it('finds a record by ULID, lower-case prefix, rowid and path', async () => {
    const full = await store.get(ids.jitter!);
    expect(full.title).toBe('Jitter every retry');
    expect((await store.get(ids.old!.slice(0, 12).toLowerCase())).id).toBe(ids.old);
    expect((await store.get(String(full.rowid))).id).toBe(ids.jitter);
    expect((await store.get(full.path)).id).toBe(ids.jitter);
  });

  it('lists the candidates of an ambiguous prefix, and says when nothing matches', async () => {
    // Ids made in one transaction are consecutive: they share all but their last characters.
    const prefix = sharedPrefix();
    const sharing = Object.values(ids).filter((id) => id.startsWith(prefix));
    expect(sharing.length).toBeGreaterThan(1);
    await expect(store.get(prefix)).rejects.toMatchObject({ code: 'AMBIGUOUS_ID', exitCode: 2 });
    const err = (await store.get(prefix).catch((e: unknown) => e)) as Error;
    for (const id of sharing) expect(err.message).toContain(id);
    await expect(store.get('7ZZZZZZZZZ')).rejects.toMatchObject({ code: 'NOT_FOUND', exitCode: 1 });
  });
});

describe('search', () => {
  it('ranks a title match above a body match', async () => {
    const hits = await store.search('stampede');
    expect(hits.map((h) => h.record.id)).toEqual([ids.stampede, ids.deploy]);
    expect(hits[0]!.title).toBe('Cache **stampede**');
    expect(hits[1]!.snippet).toContain('**stampede**');
  });

  it('reads the matches once: highlight and snippet probe records_fts by rowid for each hit', () => {
    // A plan that scans records_fts a second time (SQLite's own choice for a plain JOIN) gives the
    // same hits but reads every match again: at 1M records, four times as slow for a common word.
    const db = new BetterSqlite3(path.join(dir, 'index.db'), { readonly: true });
    try {
      for (const [filters, rank] of [
        [[], 'window'],
        [['r.retired = 0'], 'window'],
        [['r.retired = 0', 'r.kind = @kind', 'r.domain = @domain'], 'window'],
        [['r.retired = 0', 'r.kind = @kind', 'r.domain = @domain'], 'joined'],
        [['r.retired = 0', 'r.domain = @domain'], 'subset'],
        [['r.retired = 0', 'r.kind = @kind', 'r.domain = @domain'], 'subset'],
      ] as const) {
        const plan = (
          db
            .prepare(`EXPLAIN QUERY PLAN ${searchSql(filters, rank)}`)
            .all({ query: '"cache"', limit: 20, window: 80, kind: 'failure', domain: 'infra' }) as {
            detail: string;
          }[]
        ).map((row) => row.detail);
        // FTS5's plan names its constraints after the colon: `M` a MATCH, `=` a rowid equality.
        const fullScans = plan.filter((d) => /^SCAN records_fts VIRTUAL TABLE INDEX \d+:M/.test(d));
        const probes = plan.filter((d) => /^SCAN records_fts VIRTUAL TABLE INDEX \d+:=M/.test(d));
        expect({ fullScans: fullScans.length, probes: probes.length }, plan.join('\n')).toEqual({
          fullScans: 1,
          probes: 1,
        });
        expect(plan.filter((d) => /^SCAN r\b/.test(d))).toEqual([]);
      }
    } finally {
      db.close();
    }
  });

  it('takes any whole limit: a window past what SQLite can count is capped, not an error', async () => {
    const expected = (await store.search('cache')).map((h) => h.record.id);
    expect(expected.length).toBeGreaterThan(0);
    for (const limit of [2e17, Number.MAX_SAFE_INTEGER])
      for (const options of [{}, { domain: 'infra' }, { all: true }]) {
        const hits = (await store.search('cache', { ...options, limit })).map((h) => h.record.id);
        expect(hits).toEqual(
          (await store.search('cache', { ...options, limit: 1000 })).map((h) => h.record.id),
        );
      }
  });

  it('covers rules, explanations, tags and domains', async () => {
    expect((await store.search('amplify')).map((h) => h.record.id)).toEqual([ids.jitter]);
    expect((await store.search('billing')).map((h) => h.record.id)).toEqual([ids.billing]);
    expect((await store.search('deploy', { kind: 'heuristic' })).length).toBe(0);
  });

  it('returns the same hits, scores and highlights as ranking every match with its highlight', async () => {
    const many = await openStore({ dir: path.join(path.dirname(dir), 'many-hits') });
    try {
      await many.recordMany(
        Array.from({ length: 90 }, (_, i) => ({
          kind: 'failure' as const,
          title: `Queue ${'backlog '.repeat(1 + (i % 7))}number ${i}`,
          domain: i % 3 === 0 ? 'ops' : 'infra',
          summary: `The queue grew ${'and grew '.repeat(i % 11)}during run ${i}`,
        })),
      );
      const db = new BetterSqlite3(path.join(many.dir, 'index.db'), { readonly: true });
      try {
        const everyMatch = (domain: string | undefined, limit: number) =>
          db
            .prepare(
              `SELECT r.id, bm25(records_fts, 10.0, 1.0, 4.0, 2.0) AS score,
                      highlight(records_fts, 0, '**', '**') AS title,
                      snippet(records_fts, 1, '**', '**', '…', 16) AS snippet
                 FROM records_fts JOIN records r ON r.rowid = records_fts.rowid
                WHERE records_fts MATCH '"queue" "backlog"' AND r.retired = 0${domain === undefined ? '' : ` AND r.domain = '${domain}'`}
                ORDER BY score, r.rowid LIMIT ${limit}`,
            )
            .all() as { id: string; score: number; title: string; snippet: string }[];
        for (const [domain, limit] of [
          [undefined, 20],
          ['ops', 7],
          [undefined, 200],
        ] as const) {
          const hits = await many.search('queue backlog', { limit, domain });
          expect(hits.length).toBe(Math.min(limit, domain === undefined ? 90 : 30));
          expect(
            hits.map((h) => ({
              id: h.record.id,
              score: h.score,
              title: h.title,
              snippet: h.snippet,
            })),
          ).toEqual(everyMatch(domain, limit));
        }
        // A search ranks a window of the best matches before it filters them
        // (SEARCH_WINDOW hits per hit asked). When the filters leave too few of the window, it
        // must rank every match again after filtering: a domain none of the window is in, and
        // a window of retired records.
        // Three weak matches in a domain of their own: a share of the store (3 in 93) large
        // enough that the window is tried first, and none of them in it.
        const edges = await many.recordMany(
          [200, 300, 400].map((tail) => ({
            kind: 'failure' as const,
            title: 'Edge',
            domain: 'edge',
            summary: `queue backlog ${'and a long tail '.repeat(tail)}`,
          })),
        );
        expect(SEARCH_WINDOW.narrowed).toBeLessThan(90);
        expect(3 * (SEARCH_WINDOW.narrowed / 2)).toBeGreaterThanOrEqual(93);
        const inEdge = await many.search('queue backlog', { domain: 'edge', limit: 1 });
        expect(inEdge.map((h) => h.record.id)).toEqual(everyMatch('edge', 1).map((h) => h.id));
        expect(edges.map((e) => e.id)).toContain(inEdge[0]!.record.id);
        // One record in its domain: ranked after filtering at once, the same hits.
        const rare = await many.recordFailure({
          title: 'Rare',
          domain: 'rare',
          summary: `queue backlog ${'and a long tail '.repeat(100)}`,
        });
        expect(
          (await many.search('queue backlog', { domain: 'rare', limit: 3 })).map(
            (h) => h.record.id,
          ),
        ).toEqual([rare.id]);
        // No record in the domain: no hits, and a raw query is still checked by FTS5.
        expect(await many.search('queue backlog', { domain: 'nowhere' })).toEqual([]);
        await expect(
          many.search('AND OR (', { domain: 'nowhere', raw: true }),
        ).rejects.toMatchObject({ exitCode: 2 });
        const best = everyMatch(undefined, SEARCH_WINDOW.retired * 2);
        for (const hit of best.slice(0, SEARCH_WINDOW.retired * 2 - 1)) await many.retire(hit.id);
        const hits = await many.search('queue backlog', { limit: 2 });
        expect(hits.map((h) => ({ id: h.record.id, score: h.score }))).toEqual(
          everyMatch(undefined, 2).map(({ id, score }) => ({ id, score })),
        );
        expect(hits[0]!.record.id).toBe(best.at(-1)!.id);
        expect(hits).toHaveLength(2);
      } finally {
        db.close();
      }
    } finally {
      await many.close();
    }
  });

  const hostile = [
    `'; DROP TABLE records; --`,
    '"unbalanced',
    'title:stampede',
    'cache -retry',
    'NEAR(cache retry)',
    'retry*',
    'AND OR NOT',
    'quote\'s "edge"',
    'مرحبا',
    'a) OR (b',
    '{title}: x',
  ];
  it.each(hostile)('treats %s as plain text', async (text) => {
    const hits = await store.search(text);
    expect(Array.isArray(hits)).toBe(true);
    const rows = await store.list({ limit: 100 });
    expect(rows).toHaveLength(7);
  });

  it('finds the punctuation-heavy title by its words', async () => {
    expect((await store.search('🚀 مرحبا')).map((h) => h.record.id)).toEqual([ids.odd]);
    expect((await store.search("quote's edge")).map((h) => h.record.id)).toEqual([ids.odd]);
  });

  it('turns text without words, or bad --raw syntax, into a clear input error', async () => {
    await expect(store.search('🚀')).rejects.toMatchObject({ exitCode: 2 });
    await expect(store.search('* - :')).rejects.toMatchObject({
      exitCode: 2,
      data: { field: 'text' },
    });
    await expect(store.search('AND OR (', { raw: true })).rejects.toMatchObject({
      exitCode: 2,
      data: { field: 'text' },
    });
    expect((await store.search('stamp*', { raw: true })).length).toBe(2);
  });
});

describe('context', () => {
  it('gives rules by confidence, failures with prevention, and related records by tag', async () => {
    const digest = await store.context({ domain: 'infra' });
    const md = digest.markdown;
    expect(md.indexOf('Jitter every retry')).toBeLessThan(md.indexOf('Cap concurrent rebuilds'));
    expect(md).toContain('**Prevention:** Jitter the expiry');
    expect(md.indexOf('Cache stampede')).toBeLessThan(md.indexOf('Slow deploy'));
    expect(md).toContain('Retry storm in billing');
    expect(md).not.toContain('Old outage');
    expect(digest.included).toEqual({ heuristics: 2, failures: 2, related: 1 });
    expect(digest.omitted).toEqual({ heuristics: 0, failures: 0, related: 0 });
    expect(md).toContain('_Complete:');
  });
});

describe('a store of 5,000 records', () => {
  it('keeps every context digest within its token budget and says what it left out', async () => {
    const big = await openStore({ dir: tempStore() });
    await big.recordMany(
      Array.from({ length: 5000 }, (_, i) =>
        i % 5 === 0
          ? {
              kind: 'heuristic' as const,
              rule: `Rule ${i} about queues`,
              domain: 'queues',
              confidence: (i % 100) / 100,
              tags: [`t${i % 9}`],
              explanation: 'why '.repeat(i % 40),
            }
          : {
              kind: 'failure' as const,
              title: `Failure ${i} in the queue consumer`,
              domain: i % 2 ? 'queues' : 'db',
              severity: (i % 5) + 1,
              tags: [`t${i % 9}`],
              summary: 'what happened '.repeat(i % 30),
              prevention: 'do this instead '.repeat(i % 10),
            },
      ),
    );
    for (const maxTokens of [100, 500, 2000, 8000]) {
      const digest = await big.context({ domain: 'queues', maxTokens });
      expect(digest.tokens).toBeLessThanOrEqual(maxTokens);
      expect(estimateTokens(digest.markdown)).toBe(digest.tokens);
      expect(digest.included.heuristics + digest.included.failures).toBeGreaterThan(0);
      expect(digest.omitted.heuristics + digest.omitted.failures).toBeGreaterThan(0);
      // 2,000 failures in db share the tags: more than the related records counted.
      expect(digest.markdown).toMatch(
        /_Left out to fit \d+ tokens: \d+ rules, \d+ failures, at least \d+ related/,
      );
      expect(digest.included.related + digest.omitted.related).toBe(RELATED_COUNTED);
      expect(digest.included.heuristics + digest.omitted.heuristics).toBe(1000);
    }
    const stats = await big.stats();
    expect(stats.records).toBe(5000);
    expect(stats.byKind).toEqual({ failure: 4000, heuristic: 1000 });
    await big.close();
  });
});

describe('only committed records are visible', () => {
  it('a rolled-back transaction never shows', async () => {
    const other = tempStore();
    const s = await openStore({ dir: other });
    await s.recordFailure({ title: 'kept', domain: 'x' });
    process.env.LESSONS_TEST_FAIL_AT = 'commit';
    try {
      await expect(s.recordFailure({ title: 'rolled back', domain: 'x' })).rejects.toThrow();
    } finally {
      delete process.env.LESSONS_TEST_FAIL_AT;
    }
    expect((await s.list()).map((r) => r.title)).toEqual(['kept']);
    expect(await s.search('rolled')).toEqual([]);
    await s.close();
  });

  it('a transaction in flight is not seen until it commits, and readers do not wait for it', async () => {
    const other = tempStore();
    const s = await openStore({ dir: other });
    await s.recordFailure({ title: 'first', domain: 'x' });
    // The writer stops after main moved, before SQLite COMMIT, holding the lock.
    const hold = holdAt('commit');
    const writer = startWriter({ dir: other, kind: 'failure', title: 'in flight', env: hold.env });
    await hold.reached();
    expect((await s.list()).map((r) => r.title)).toEqual(['first']);
    expect(await s.search('flight')).toEqual([]);
    const cli = await lessons(['--dir', other, '--json', 'list']);
    expect((cli.json!.records as { title: string }[]).map((r) => r.title)).toEqual(['first']);
    // The readers finished while the writer still held its transaction open: they did not wait.
    expect(writer.child.exitCode).toBe(null);
    hold.release();
    expect((await writer.done).code).toBe(0);
    expect((await s.list()).map((r) => r.title)).toEqual(['in flight', 'first']);
    expect(consistencyProblems(other)).toEqual([]);
    await s.close();
  });
});

describe('the CLI', () => {
  it('prints documented JSON shapes', async () => {
    const list = await lessons(['--dir', dir, '--json', 'list', '--kind', 'heuristic']);
    expect(list.code).toBe(0);
    expect(list.json).toMatchObject({ ok: true, count: 2 });
    expect(
      (list.json!.records as Record<string, unknown>[]).find((r) => r.id === ids.jitter),
    ).toMatchObject({
      id: ids.jitter,
      kind: 'heuristic',
      tags: ['retry'],
      confidence: 0.85,
    });

    const show = await lessons(['--dir', dir, '--json', 'show', ids.cap!]);
    expect(show.json).toMatchObject({
      ok: true,
      record: { id: ids.cap, title: 'Cap concurrent rebuilds' },
    });

    const search = await lessons(['--dir', dir, '--json', 'search', 'stampede']);
    expect(search.json).toMatchObject({ ok: true, query: 'stampede', count: 2 });
    expect((search.json!.hits as { record: { id: string } }[])[0]!.record.id).toBe(ids.stampede);

    const context = await lessons([
      '--dir',
      dir,
      '--json',
      'context',
      '--domain',
      'infra',
      '--max-tokens',
      '300',
    ]);
    expect(context.json).toMatchObject({ ok: true, maxTokens: 300 });
    expect(context.json!.tokens as number).toBeLessThanOrEqual(300);

    const stats = await lessons(['--dir', dir, '--json', 'stats']);
    expect(stats.json).toMatchObject({
      ok: true,
      records: 7,
      byKind: { failure: 5, heuristic: 2 },
    });
    expect((stats.json!.lastCommit as { subject: string }).subject).toBe(
      'lessons: record 6 records',
    );
  });

  it('exits 2 on ambiguity and bad queries, 1 when nothing is found, 2 without a store', async () => {
    const ambiguous = await lessons(['--dir', dir, '--json', 'show', sharedPrefix()]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.json).toMatchObject({ ok: false, error: { code: 'AMBIGUOUS_ID' } });
    const missing = await lessons(['--dir', dir, 'show', '7ZZZZZZZZZ']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no committed record matches');
    const raw = await lessons(['--dir', dir, 'search', '--raw', 'AND OR (']);
    expect(raw.code).toBe(2);
    expect(raw.stderr).toMatch(/not a valid search query/);
    const hostile = await lessons(['--dir', dir, 'search', `'; DROP TABLE records; --`]);
    expect(hostile.code).toBe(0);
    const none = await lessons(['--dir', tempStore(), 'list']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('not a lessons store');
  });

  it("takes a domain's own tags from its newest records, so a digest's cost does not follow the store's size", async () => {
    const store = await openStore({ dir: tempStore() });
    const day = 86_400_000;
    const now = Date.now();
    await store.recordMany([
      // Old records carry six tags, each more frequent in the domain than the new one...
      ...Array.from({ length: TAG_SAMPLE + 500 }, (_, i) => ({
        kind: 'failure' as const,
        title: `Old failure ${i}`,
        domain: 'web',
        created: new Date(now - 700 * day - i * 1000).toISOString(),
        tags: ['s1', 's2', 's3', 's4', 's5', 's6'],
      })),
      // ...but the newest TAG_SAMPLE records all carry `fresh`.
      ...Array.from({ length: TAG_SAMPLE + 100 }, (_, i) => ({
        kind: 'failure' as const,
        title: `New failure ${i}`,
        domain: 'web',
        created: new Date(now - day - i * 1000).toISOString(),
        tags: ['fresh'],
      })),
      { kind: 'failure' as const, title: 'Fresh in ops', domain: 'ops', tags: ['fresh'] },
      { kind: 'failure' as const, title: 'Fresh in ops too', domain: 'ops', tags: ['fresh'] },
      { kind: 'failure' as const, title: 'Stale in ops', domain: 'ops', tags: ['s1'] },
    ]);
    // The failures fill the budget; what the digest relates by is in its counts. Over the
    // whole domain the tags would be s1-s5, relating the one stale record.
    const digest = await store.context({ domain: 'web', maxTokens: 500 });
    expect(digest.included.related + digest.omitted.related).toBe(2);
    // Below the cap the count is exact, and said plainly.
    expect(digest.markdown).toMatch(/\d+ failures, 2 related\. Use/);
    await store.close();
  });
});
