// Reading the index: list, get, search. Readers open index.db read-only, take no lock and never
// block writers (WAL). A row exists only once its transaction committed (SQLite COMMIT follows
// the move of main), so nothing in flight or rolled back is ever seen.

import fs from 'node:fs';
import path from 'node:path';
import { Database, type RecordRow } from '../db/database.js';
import { READABLE_FROM_VERSION, SCHEMA_VERSION } from '../db/schema.js';
import ms from 'ms';
import { InvalidInputError, StoreError, UsageError } from '../errors/index.js';
import {
  openIndexForReading,
  type IndexOrigin,
  type ReadableIndex,
} from '../resources/index-db.js';
import { layoutFor, resolveStoreDir, type StoreLayout } from '../resources/layout.js';

/** A record as readers see it: the row with tags and provenance decoded. */
export interface RecordView {
  readonly rowid: number;
  readonly id: string;
  readonly kind: 'failure' | 'heuristic';
  readonly path: string;
  readonly title: string;
  readonly domain: string;
  readonly tags: readonly string[];
  readonly created: string;
  readonly severity: number | null;
  readonly source: string | null;
  readonly confidence: number | null;
  readonly sourceId: string | null;
  readonly body: string;
  readonly importedFrom: unknown;
  readonly blob: string;
  readonly commit: string;
  /** Validations and violations reported by lifecycle events (docs/lifecycle.md). */
  readonly validations: number;
  readonly violations: number;
  /** A golden rule: read first by every agent. */
  readonly golden: boolean;
  /** Retired: kept in history and `show`, left out of context, golden and default list/search. */
  readonly retired: boolean;
  readonly retiredReason: string | null;
  readonly supersededBy: string | null;
}

export type SortOrder = 'recent' | 'confidence' | 'severity';
export const SORT_ORDERS: readonly SortOrder[] = ['recent', 'confidence', 'severity'];

export interface ListOptions {
  readonly kind?: 'failure' | 'heuristic' | undefined;
  readonly domain?: string | undefined;
  readonly tag?: string | undefined;
  /** ISO date or date-time; records created at or after it. */
  readonly since?: string | undefined;
  /** @default 50 */
  readonly limit?: number | undefined;
  /** @default 'recent' */
  readonly sort?: SortOrder | undefined;
  /** Include retired records. @default false */
  readonly all?: boolean | undefined;
}

export interface SearchOptions {
  readonly kind?: 'failure' | 'heuristic' | undefined;
  readonly domain?: string | undefined;
  /** @default 20 */
  readonly limit?: number | undefined;
  /** Pass the text to FTS5 as a query (AND/OR/NOT, "phrases", prefix*) instead of plain words. */
  readonly raw?: boolean | undefined;
  /** Include retired records. @default false */
  readonly all?: boolean | undefined;
}

export interface GoldenOptions {
  readonly domain?: string | undefined;
}

export interface SearchHit {
  readonly record: RecordView;
  /** bm25 score with title weighted above tags, domain and body; lower is better. */
  readonly score: number;
  /** The title with matches marked **like this**. */
  readonly title: string;
  /** A few words of the body around the best match, marked the same way. */
  readonly snippet: string;
}

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const ULID_PREFIX = /^[0-9A-HJKMNP-TV-Z]{1,25}$/;

export function toView(row: RecordRow): RecordView {
  return {
    rowid: row.rowid,
    id: row.id,
    kind: row.kind,
    path: row.path,
    title: row.title,
    domain: row.domain,
    tags: JSON.parse(row.tags) as string[],
    created: row.created,
    severity: row.severity,
    source: row.source,
    confidence: row.confidence,
    sourceId: row.source_id,
    body: row.body,
    importedFrom: row.imported_from === null ? null : (JSON.parse(row.imported_from) as unknown),
    blob: row.blob_oid,
    commit: row.commit_oid,
    validations: row.validations,
    violations: row.violations,
    golden: row.golden === 1,
    retired: row.retired === 1,
    retiredReason: row.retired_reason,
    supersededBy: row.superseded_by,
  };
}

function positiveInt(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1)
    throw new InvalidInputError(
      field,
      `${value} is not a whole number >= 1`,
      `Pass ${field} 1 or more.`,
    );
  return value;
}

/**
 * `since` as an ISO instant: a date (YYYY-MM-DD), an ISO date-time, or a span back from `now`
 * such as 7d, 2w, 12h or "3 days" (parsed by `ms`).
 */
export function isoSince(since: string, now: Date = new Date()): string {
  const text = since.trim();
  if (/^\d+(\.\d+)?\s*[a-z]+$/i.test(text)) {
    const span = ms(text as ms.StringValue) as number | undefined;
    if (typeof span === 'number' && Number.isFinite(span) && span >= 0)
      return new Date(now.getTime() - span).toISOString();
  }
  const date = new Date(text);
  if (!/^\d{4}-\d{2}(-\d{2})?/.test(text) || Number.isNaN(date.getTime()))
    throw new InvalidInputError(
      'since',
      `${JSON.stringify(since)} is neither a date nor a span of time`,
      'Use YYYY-MM-DD, an ISO date-time, or a span back from now such as 7d, 2w, 12h.',
    );
  return date.toISOString();
}

/** Shortest prefix kept for a short id; ULIDs share their leading (time) characters. */
export const SHORT_ID_MIN = 8;

function commonPrefix(a: string, b: string | undefined): number {
  if (b === undefined) return 0;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return i;
}

/** The --kind and --domain conditions shared by list and search. */
function filterKindAndDomain(
  options: { kind?: string | undefined; domain?: string | undefined; all?: boolean | undefined },
  table: string,
  where: string[],
  params: Record<string, unknown>,
): void {
  if (options.all !== true) where.push(`${table}retired = 0`);
  if (options.kind !== undefined) {
    where.push(`${table}kind = @kind`);
    params.kind = options.kind;
  }
  if (options.domain !== undefined) {
    where.push(`${table}domain = @domain`);
    params.domain = options.domain.toLowerCase();
  }
}

/** FTS5 query from plain text: every word quoted, so punctuation and keywords are just text. */
export function plainQuery(text: string): string {
  const words = text
    .split(/\s+/)
    .filter((w) => /[\p{L}\p{N}]/u.test(w))
    .map((w) => `"${w.replace(/"/g, '""')}"`);
  if (words.length === 0)
    throw new InvalidInputError(
      'text',
      `${JSON.stringify(text)} has no words to search for`,
      'Search for at least one word.',
    );
  return words.join(' ');
}

/**
 * How many of the best matches a filtered search ranks before it filters them, per hit asked
 * for: hiding retired records rarely drops one, a kind or domain drops most (one domain in eight).
 */
export const SEARCH_WINDOW = { retired: 4, narrowed: 64 } as const;

/**
 * The SQL of a search, in one of four shapes, by what `filters` (conditions on `records r`)
 * ask and how `rank` is to apply them:
 *
 * - no filters: every match ranked from records_fts alone.
 * - `rank: 'window'`: the best `@window` matches are ranked from records_fts alone, then joined
 *   to `records` and filtered, and the best `@limit` of those kept. Exact whenever it yields
 *   `@limit` hits or the matches were fewer than `@window` (see `Reader.search`). Joining before
 *   the sort instead looks up a row of `records` for every match: at 1M records a common word
 *   matches 100k rows, and those lookups cost twice the ranking itself.
 * - `rank: 'joined'`: every match joined and filtered, then ranked. Always exact.
 * - `rank: 'subset'`: the rowids the filters leave are listed first (from an index, a row
 *   lookup each for what the index lacks), and only matches among them are ranked. Always exact;
 *   the fastest when the filters leave a small share of the store. The unary `+` keeps SQLite
 *   from handing that list to FTS5 as rowids to look up one by one (FTS5 takes 0.7 ms a
 *   lookup at 1M records).
 *
 * Highlight and snippet are computed for the hits alone, in the outer query, which probes
 * records_fts by rowid for each (CROSS JOIN keeps the hits the outer loop: left to choose,
 * SQLite scans every match a second time and looks each one up in the hits).
 */
export function searchSql(
  filters: readonly string[],
  rank: 'window' | 'joined' | 'subset',
): string {
  const score = 'bm25(records_fts, 10.0, 1.0, 4.0, 2.0)';
  const where = filters.join(' AND ');
  const top =
    filters.length === 0
      ? `SELECT rowid, ${score} AS score FROM records_fts WHERE records_fts MATCH @query
          ORDER BY score, rowid LIMIT @limit`
      : rank === 'window'
        ? `SELECT best.rowid AS rowid, best.score AS score
             FROM (SELECT rowid, ${score} AS score FROM records_fts WHERE records_fts MATCH @query
                    ORDER BY score, rowid LIMIT @window) AS best
             CROSS JOIN records r ON r.rowid = best.rowid
            WHERE ${where}
            ORDER BY best.score, best.rowid LIMIT @limit`
        : rank === 'subset'
          ? `SELECT rowid, ${score} AS score FROM records_fts
              WHERE records_fts MATCH @query
                AND +records_fts.rowid IN (SELECT r.rowid FROM records r WHERE ${where})
              ORDER BY score, rowid LIMIT @limit`
          : `SELECT records_fts.rowid AS rowid, ${score} AS score
               FROM records_fts JOIN records r ON r.rowid = records_fts.rowid
              WHERE records_fts MATCH @query AND ${where}
              ORDER BY score, records_fts.rowid LIMIT @limit`;
  return `WITH top AS (${top})
           SELECT r.*, top.score AS score,
                  highlight(records_fts, 0, '**', '**') AS hl_title,
                  snippet(records_fts, 1, '**', '**', '…', 16) AS hl_snippet
             FROM top
             CROSS JOIN records_fts ON records_fts.rowid = top.rowid
             CROSS JOIN records r ON r.rowid = top.rowid
            WHERE records_fts MATCH @query
            ORDER BY top.score, top.rowid`;
}

/**
 * How `domain`'s share of the store compares with the share at which a window of the best
 * matches (SEARCH_WINDOW.narrowed per hit asked) can be expected to hold twice the hits asked
 * for: `none` (no record in it), `small` or `enough`. The largest rowid stands for the store's
 * size; the domain is counted from its index, up to what would be enough.
 */
function domainShare(db: Database['db'], domain: string): 'none' | 'small' | 'enough' {
  const { size } = db.prepare('SELECT max(rowid) AS size FROM records').get() as {
    size: number | null;
  };
  const enough = Math.max(1, Math.ceil((size ?? 0) / (SEARCH_WINDOW.narrowed / 2)));
  const { count } = db
    .prepare('SELECT count(*) AS count FROM (SELECT 1 FROM records WHERE domain = ? LIMIT ?)')
    .get(domain, enough) as { count: number };
  return count === 0 ? 'none' : count < enough ? 'small' : 'enough';
}

/** A read-only view of one store's index. */
export class Reader {
  readonly layout: StoreLayout;
  /** Where the index came from: index.db, built from HEAD just now, or a private copy. */
  readonly origin: IndexOrigin;
  private readonly index: ReadableIndex;
  private readonly database: Database | undefined;

  private constructor(layout: StoreLayout, index: ReadableIndex) {
    this.layout = layout;
    this.index = index;
    this.origin = index.origin;
    this.database = index.database;
  }

  /** Open the store's index; a missing index.db is built from HEAD first (missing-index.ts). */
  static async open(dir?: string): Promise<Reader> {
    const layout = layoutFor(resolveStoreDir(dir));
    if (!fs.existsSync(path.join(layout.gitdir, 'HEAD')))
      throw new UsageError(
        'NOT_A_STORE',
        `${layout.dir} is not a lessons store yet (no .git/HEAD). Record something first, or pass --dir <store>.`,
      );
    const index = await openIndexForReading(layout, { readOnlyFallback: true });
    const database = index.database;
    if (database !== undefined && database.schemaVersion() < READABLE_FROM_VERSION) {
      const version = database.schemaVersion();
      index.close();
      throw new StoreError(
        'SCHEMA_OLD',
        `${layout.dbFile} has schema version ${version}, older than this lessons (${SCHEMA_VERSION}). Readers never write: run \`lessons reindex\` (or record something) once to migrate it.`,
      );
    }
    return new Reader(layout, index);
  }

  private all(sql: string, params: Record<string, unknown> = {}): RecordRow[] {
    if (this.database === undefined) return [];
    return this.database.db.prepare(sql).all(params) as RecordRow[];
  }

  private listFilter(options: ListOptions): { where: string; params: Record<string, unknown> } {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    filterKindAndDomain(options, '', where, params);
    if (options.tag !== undefined) {
      where.push('rowid IN (SELECT rowid_ref FROM record_tags WHERE tag = @tag)');
      params.tag = options.tag;
    }
    if (options.since !== undefined) {
      where.push('created >= @since');
      params.since = isoSince(options.since);
    }
    return { where: where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`, params };
  }

  list(options: ListOptions = {}): RecordView[] {
    const limit = positiveInt('limit', options.limit, 50);
    const { where, params } = this.listFilter(options);
    const order = {
      recent: 'created DESC, id DESC',
      confidence: 'confidence IS NULL, confidence DESC, created DESC',
      severity: 'severity IS NULL, severity DESC, created DESC',
    }[options.sort ?? 'recent'];
    if (order === undefined)
      throw new InvalidInputError(
        'sort',
        `${JSON.stringify(options.sort)} is not an order`,
        `Use one of ${SORT_ORDERS.join(', ')}.`,
      );
    return this.all(`SELECT * FROM records ${where} ORDER BY ${order} LIMIT @limit`, {
      ...params,
      limit,
    }).map(toView);
  }

  /** How many records `list` would show without its limit. */
  listTotal(options: ListOptions = {}): number {
    const { where, params } = this.listFilter(options);
    return (
      this.scalar<{ n: number }>(`SELECT count(*) AS n FROM records ${where}`, params)[0]?.n ?? 0
    );
  }

  /**
   * Each id cut to the shortest length (at least SHORT_ID_MIN characters) at which none of them
   * shares its prefix with another record in the store, so `show <short id>` finds it, as
   * `git log --oneline` abbreviates.
   */
  shortIds(ids: readonly string[]): Map<string, string> {
    const short = new Map<string, string>();
    if (this.database === undefined) return short;
    const before = this.database.db.prepare(
      'SELECT id FROM records WHERE id < ? ORDER BY id DESC LIMIT 1',
    );
    const after = this.database.db.prepare(
      'SELECT id FROM records WHERE id > ? ORDER BY id LIMIT 1',
    );
    before.pluck();
    after.pluck();
    // One length for the whole listing, so the columns line up.
    let length = SHORT_ID_MIN;
    for (const id of ids)
      length = Math.max(
        length,
        commonPrefix(id, before.get(id) as string | undefined) + 1,
        commonPrefix(id, after.get(id) as string | undefined) + 1,
      );
    for (const id of ids) short.set(id, id.slice(0, length));
    return short;
  }

  /** A record by ULID, unique ULID prefix, rowid or path. */
  get(ref: string): RecordView {
    const text = ref.trim();
    let rows: RecordRow[];
    if (/^\d+$/.test(text))
      rows = this.all('SELECT * FROM records WHERE rowid = @n', { n: Number(text) });
    else if (text.includes('/') || text.endsWith('.md'))
      rows = this.all('SELECT * FROM records WHERE path = @p', { p: text.replace(/^\.\//, '') });
    else if (ULID.test(text.toUpperCase()))
      rows = this.all('SELECT * FROM records WHERE id = @id', { id: text.toUpperCase() });
    else if (ULID_PREFIX.test(text.toUpperCase()))
      rows = this.all(
        "SELECT * FROM records WHERE id >= @p AND id < @p || 'ZZZZZZZZZZZZZZZZZZZZZZZZZZ' ORDER BY id LIMIT 11",
        {
          p: text.toUpperCase(),
        },
      ).filter((r) => r.id.startsWith(text.toUpperCase()));
    else
      throw new InvalidInputError(
        'id',
        `${JSON.stringify(ref)} is not an id, id prefix, rowid or path`,
        'Pass a ULID (or its first characters), a rowid or the record path.',
      );
    if (rows.length === 0)
      throw new StoreError('NOT_FOUND', `no committed record matches ${JSON.stringify(ref)}.`, {
        data: { ref },
      });
    if (rows.length > 1)
      throw new UsageError(
        'AMBIGUOUS_ID',
        `${JSON.stringify(ref)} matches ${rows.length > 10 ? 'more than 10' : rows.length} records: ${rows
          .slice(0, 10)
          .map((r) => `${r.id} (${r.title})`)
          .join(', ')}. Give more characters of the id.`,
        {
          data: {
            candidates: rows.slice(0, 10).map((r) => ({ id: r.id, title: r.title, path: r.path })),
          },
        },
      );
    return toView(rows[0]!);
  }

  search(text: string, options: SearchOptions = {}): SearchHit[] {
    if (this.database === undefined) return [];
    const query = options.raw === true ? text : plainQuery(text);
    const limit = positiveInt('limit', options.limit, 20);
    const filters: string[] = [];
    const params: Record<string, unknown> = { query, limit };
    filterKindAndDomain(options, 'r.', filters, params);
    const narrowed = options.kind !== undefined || options.domain !== undefined;
    // Any window at least 1 is exact (see below); past 2^53 the product would not be a whole
    // number SQLite takes for a LIMIT.
    const window = Math.min(
      limit * (narrowed ? SEARCH_WINDOW.narrowed : SEARCH_WINDOW.retired),
      Number.MAX_SAFE_INTEGER,
    );
    params.window = window;
    type Row = RecordRow & { score: number; hl_title: string; hl_snippet: string };
    const db = this.database.db;
    const rank = (shape: 'window' | 'joined' | 'subset'): Row[] =>
      db.prepare(searchSql(filters, shape)).all(params) as Row[];
    // One read transaction: the window, the count and the ranking again must see one snapshot,
    // or a writer's commit between them could make a full window look like every match.
    const ranked = db.transaction((): Row[] => {
      // A domain with a small share of the store would rarely fill a window: rank only the
      // matches among its records. (Only a question of speed: every shape is exact.)
      const share =
        options.domain === undefined ? 'enough' : domainShare(db, params.domain as string);
      // (A raw query still goes to FTS5, which says whether it is a valid query.)
      if (share === 'none' && options.raw !== true) return [];
      if (share !== 'enough') return rank('subset');
      const rows = rank('window');
      // Fewer hits than asked from the window: exact if the window held every match, otherwise
      // the filters dropped too many of the best and every match is ranked after filtering.
      if (filters.length === 0 || rows.length >= limit) return rows;
      const { n } = db
        .prepare(
          'SELECT count(*) AS n FROM (SELECT 1 FROM records_fts WHERE records_fts MATCH @query LIMIT @window)',
        )
        .get(params) as { n: number };
      return n < window ? rows : rank('joined');
    });
    try {
      return ranked().map((row) => ({
        record: toView(row),
        score: row.score,
        title: row.hl_title,
        snippet: row.hl_snippet,
      }));
    } catch (error) {
      const message = (error as Error).message;
      if (/fts5|syntax error|no such column|unterminated/i.test(message))
        throw new InvalidInputError(
          'text',
          `${JSON.stringify(text)} is not a valid search query (${message})`,
          options.raw === true
            ? 'Fix the FTS5 syntax, or search without --raw to match the words as plain text.'
            : 'Search for plain words.',
        );
      throw error;
    }
  }

  /** The golden rules (retired ones never are), the most confident first. */
  golden(options: GoldenOptions = {}): RecordView[] {
    const domain = options.domain?.toLowerCase();
    return this.all(
      `SELECT * FROM records WHERE golden = 1 AND retired = 0${domain === undefined ? '' : ' AND domain = @domain'}
        ORDER BY confidence DESC, created DESC, id`,
      domain === undefined ? {} : { domain },
    ).map(toView);
  }

  /** Rows matching `whereSql` (a WHERE clause over `records`), for the digest. */
  rows(
    whereSql: string,
    params: Record<string, unknown> = {},
    orderSql = 'created DESC',
    limit = 500,
  ): RecordView[] {
    return this.all(
      `SELECT * FROM records WHERE ${whereSql} ORDER BY ${orderSql} LIMIT ${limit}`,
      params,
    ).map(toView);
  }

  count(whereSql: string, params: Record<string, unknown> = {}): number {
    return (
      this.scalar<{ n: number }>(`SELECT count(*) AS n FROM records WHERE ${whereSql}`, params)[0]
        ?.n ?? 0
    );
  }

  scalar<T>(sql: string, params: Record<string, unknown> = {}): T[] {
    if (this.database === undefined) return [];
    return this.database.db.prepare(sql).all(params) as T[];
  }

  close(): void {
    this.index.close();
  }
}
