// The SQLite index: one connection per store and purpose. Writers use WAL with synchronous=FULL
// and BEGIN IMMEDIATE; readers open read-only and never block writers.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import BetterSqlite3 from 'better-sqlite3';
import { IndexNotAFileError, SqliteCorruptError, StoreError } from '../errors/index.js';
import type { LifecycleEvent } from '../record/event.js';
import type { FoldedState } from '../record/fold.js';
import { rowTexts, type RowTexts } from '../record/secrets.js';
import type { LessonRecord, RenderedRecord } from '../record/types.js';
import { MIGRATIONS, REFILL_BELOW_VERSION, SCHEMA_VERSION } from './schema.js';

let addon: string | null | undefined;

/**
 * better-sqlite3's options with the path of its addon where it is built (always, from npm's
 * prebuilt binaries or a local build): found by one module resolution, where better-sqlite3's
 * default asks the `bindings` package, which tries a dozen places and costs a cold record
 * about 3 ms. Elsewhere (an unusual build) the default stays.
 */
function sqliteOptions(options: BetterSqlite3.Options = {}): BetterSqlite3.Options {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url).resolve(
        'better-sqlite3/build/Release/better_sqlite3.node',
      );
    } catch {
      addon = null;
    }
  }
  return addon === null ? options : { ...options, nativeBinding: addon };
}

/** A row of `records` as stored. */
export interface RecordRow {
  readonly rowid: number;
  readonly id: string;
  readonly kind: 'failure' | 'heuristic';
  readonly path: string;
  readonly title: string;
  readonly domain: string;
  /** JSON array. */
  readonly tags: string;
  readonly created: string;
  readonly severity: number | null;
  readonly source: string | null;
  readonly confidence: number | null;
  readonly source_id: string | null;
  readonly body: string;
  /** JSON object. */
  readonly imported_from: string | null;
  readonly blob_oid: string;
  readonly commit_oid: string;
  readonly txid: string;
  /** The fold of the record's events (docs/lifecycle.md); confidence above is folded too. */
  readonly validations: number;
  readonly violations: number;
  /** 0 or 1. */
  readonly golden: number;
  /** 0 or 1. */
  readonly retired: number;
  readonly retired_reason: string | null;
  readonly superseded_by: string | null;
}

export type NewRow = Omit<RecordRow, 'rowid'>;

/** A row of `events` as stored. */
export interface EventRow {
  readonly rowid: number;
  readonly id: string;
  readonly verb: LifecycleEvent['verb'];
  readonly target: string;
  readonly created: string;
  /** JSON of the whole event (record/event.ts), what the fold reads. */
  readonly payload: string;
  readonly path: string;
  readonly blob_oid: string;
  readonly commit_oid: string;
  readonly txid: string;
}

export type NewEventRow = Omit<EventRow, 'rowid'>;

export function eventRow(
  event: LifecycleEvent,
  path: string,
  blobOid: string,
  txid: string,
  commit: string,
): NewEventRow {
  return {
    id: event.id,
    verb: event.verb,
    target: event.target,
    created: event.created,
    payload: JSON.stringify(event),
    path,
    blob_oid: blobOid,
    commit_oid: commit,
    txid,
  };
}

export function rowFor(rendered: RenderedRecord, txid: string, commit: string): NewRow {
  if (rendered.record.kind === 'event') throw new TypeError('an event has no record row');
  return rowFromRecord(rendered.record, rendered.path, rendered.blobOid, txid, commit);
}

/** The columns a fold sets on a record's row. */
export function foldedColumns(state: FoldedState) {
  const { record } = state;
  return {
    title: record.title,
    tags: JSON.stringify(record.tags),
    body: record.body,
    severity: record.kind === 'failure' ? record.severity : null,
    confidence: state.confidence,
    validations: state.validations,
    violations: state.violations,
    golden: state.golden ? 1 : 0,
    retired: state.retired ? 1 : 0,
    retired_reason: state.retiredReason,
    superseded_by: state.supersededBy,
  };
}

const FOLDED_COLUMNS = Object.keys(
  foldedColumns({
    record: {
      kind: 'failure',
      id: '',
      title: '',
      domain: '',
      tags: [],
      created: '',
      body: '',
      severity: 1,
    },
    confidence: null,
    validations: 0,
    violations: 0,
    golden: false,
    retired: false,
    retiredReason: null,
    supersededBy: null,
  }),
);

export function rowFromRecord(
  record: LessonRecord,
  path: string,
  blobOid: string,
  txid: string,
  commit: string,
): NewRow {
  // The texts as the secret scan of a writer read them (a row's mark vouches for exactly these).
  const texts = rowTexts(record);
  return {
    id: record.id,
    kind: record.kind,
    path,
    title: texts.title,
    domain: texts.domain,
    tags: texts.tags,
    created: record.created,
    severity: record.kind === 'failure' ? record.severity : null,
    source: record.kind === 'heuristic' ? record.source : null,
    confidence: record.kind === 'heuristic' ? record.confidence : null,
    source_id: texts.source_id,
    body: texts.body,
    imported_from: texts.imported_from,
    blob_oid: blobOid,
    commit_oid: commit,
    txid,
    validations: 0,
    violations: 0,
    golden: 0,
    retired: 0,
    retired_reason: null,
    superseded_by: null,
  };
}

/** A record's row with the fold of its events applied. */
export function foldedRow(row: NewRow, state: FoldedState): NewRow {
  return { ...row, ...foldedColumns(state) };
}

function describeNonFile(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isSocket()) return 'a socket';
  if (stat.isFIFO()) return 'a named pipe';
  return 'a device or special file';
}

function wrapOpen<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_IOERR')) {
      throw new SqliteCorruptError(file, error);
    }
    throw error;
  }
}

/**
 * The columns of a record row that the secret scan reads: changing any of them takes the row's
 * mark away (the record_scans_update trigger of db/schema.ts).
 */
const SCANNED_COLUMNS = [
  'kind',
  'title',
  'domain',
  'tags',
  'body',
  'source_id',
  'imported_from',
] as const satisfies readonly (keyof RowTexts)[];

/** A record row's columns but its rowid, in the table's order. */
export const INSERT_COLUMNS = [
  'id',
  'kind',
  'path',
  'title',
  'domain',
  'tags',
  'created',
  'severity',
  'source',
  'confidence',
  'source_id',
  'body',
  'imported_from',
  'blob_oid',
  'commit_oid',
  'txid',
  'validations',
  'violations',
  'golden',
  'retired',
  'retired_reason',
  'superseded_by',
] as const;

const EVENT_COLUMNS = [
  'id',
  'verb',
  'target',
  'created',
  'payload',
  'path',
  'blob_oid',
  'commit_oid',
  'txid',
] as const;

/**
 * Run an INSERT of `columns` from `row`, bound by position (cheaper than by name, and run()'s
 * rowid cheaper than a RETURNING row), and check the rowid SQLite gave (> 0). A trigger's own
 * inserts do not change the rowid reported for the statement.
 */
function checkedRowid<Row extends { readonly id: string }>(
  statement: BetterSqlite3.Statement,
  columns: readonly (keyof Row)[],
  row: Row,
  what: string,
): number {
  const result = statement.run(columns.map((column) => row[column]));
  const rowid = Number(result.changes === 1 ? result.lastInsertRowid : 0);
  if (!(rowid > 0))
    throw new StoreError('SQLITE_ROWID', `SQLite returned rowid ${rowid} for ${what} ${row.id}`);
  return rowid;
}

/** Page cache of a database being filled by fillEmpty, in KiB. */
const FILL_CACHE_KIB = 128 * 1024;

/** From this many rows on, insertMany fills the FTS5 and tag tables in bulk. */
export const BULK_FROM = 64;

/**
 * For each AFTER INSERT trigger of `records` (db/schema.ts), the same work for every row with
 * rowid >= ? at once (rowids only grow: AUTOINCREMENT). test/db/bulk.test.ts holds them equal.
 */
const BULK_FILLS: Readonly<Record<string, string>> = {
  records_fts_insert: `INSERT INTO records_fts (rowid, title, body, tags, domain)
    SELECT rowid, title, body, tags, domain FROM records WHERE rowid >= ? ORDER BY rowid`,
  record_tags_insert: `INSERT OR IGNORE INTO record_tags (rowid_ref, tag)
    SELECT records.rowid, json_each.value FROM records, json_each(records.tags) WHERE records.rowid >= ?`,
};

export class Database {
  readonly file: string;
  readonly db: BetterSqlite3.Database;
  private insertStatement: BetterSqlite3.Statement | undefined;
  private insertEventStatement: BetterSqlite3.Statement | undefined;
  /** The schema version this connection migrated from (0: a new file). */
  migratedFrom = SCHEMA_VERSION;

  private constructor(file: string, db: BetterSqlite3.Database) {
    this.file = file;
    this.db = db;
  }

  /**
   * Open (creating if needed) for writing and migrate to the current schema. The caller holds
   * the writers' lock. `created` tells whether the file is new.
   */
  static openForWrite(
    file: string,
    busyTimeoutMs = 10_000,
  ): { database: Database; created: boolean } {
    const created = !Database.indexExists(file);
    return wrapOpen(file, () => {
      const db = new BetterSqlite3(file, sqliteOptions());
      try {
        db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
        if (String(db.pragma('journal_mode', { simple: true })) !== 'wal')
          db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
        const database = new Database(file, db);
        database.migrate();
        // An index older than the events has none of them: it is filled again from HEAD.
        return { database, created: created || database.migratedFrom < REFILL_BELOW_VERSION };
      } catch (error) {
        db.close();
        throw error;
      }
    });
  }

  /**
   * Is there an index file at `file`? Throws INDEX_NOT_A_FILE when something else is there,
   * which SQLite would only call "unable to open database file".
   */
  static indexExists(file: string): boolean {
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    if (stat === undefined) return false;
    if (!stat.isFile()) throw new IndexNotAFileError(file, describeNonFile(stat));
    return true;
  }

  /** An index in memory holding a copy of the complete index file `file`, at its schema. */
  static copyIntoMemory(file: string): Database {
    return Database.ofKnownSchema(
      ':memory:',
      new BetterSqlite3(fs.readFileSync(file), sqliteOptions()),
    );
  }

  /** `db` as a Database, once its schema is one this lessons knows (closed if not). */
  private static ofKnownSchema(file: string, db: BetterSqlite3.Database): Database {
    const database = new Database(file, db);
    try {
      database.checkSchemaVersion();
    } catch (error) {
      db.close();
      throw error;
    }
    return database;
  }

  /** A new, empty index in memory (for a read-only store whose index.db is missing). */
  static openInMemory(): Database {
    const database = new Database(':memory:', new BetterSqlite3(':memory:', sqliteOptions()));
    database.migrate();
    return database;
  }

  /**
   * Open a private copy of an index (see missing-index.ts) read-write, so SQLite replays a
   * copied WAL; nothing writes to it afterwards.
   */
  static openCopy(file: string): Database {
    return wrapOpen(file, () => {
      const db = new BetterSqlite3(file, sqliteOptions({ fileMustExist: true }));
      const database = new Database(file, db);
      try {
        database.checkSchemaVersion();
        db.prepare('SELECT count(*) FROM records').get();
      } catch (error) {
        db.close();
        throw error;
      }
      return database;
    });
  }

  /** Open read-only; undefined when there is no index yet. Readers never take the lock. */
  static openForRead(file: string): Database | undefined {
    if (!Database.indexExists(file)) return undefined;
    return wrapOpen(file, () => {
      const db = new BetterSqlite3(file, sqliteOptions({ readonly: true, fileMustExist: true }));
      db.pragma('busy_timeout = 5000');
      return Database.ofKnownSchema(file, db);
    });
  }

  private checkSchemaVersion(): void {
    const version = this.schemaVersion();
    if (version > SCHEMA_VERSION)
      throw new StoreError(
        'SCHEMA_TOO_NEW',
        `${this.file} has schema version ${version}, newer than this lessons (${SCHEMA_VERSION}): upgrade lessons.`,
      );
  }

  schemaVersion(): number {
    const hasMeta = this.db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
      .get();
    if (!hasMeta) return 0;
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as
      { value: string } | undefined;
    return row === undefined ? 0 : Number(row.value);
  }

  private migrate(): void {
    const current = this.schemaVersion();
    this.migratedFrom = current;
    if (current === SCHEMA_VERSION) return;
    if (current > SCHEMA_VERSION) {
      throw new StoreError(
        'SCHEMA_TOO_NEW',
        `${this.file} has schema version ${current}, newer than this lessons (${SCHEMA_VERSION}): upgrade lessons.`,
      );
    }
    this.db.exec('BEGIN IMMEDIATE');
    try {
      for (const migration of MIGRATIONS) {
        if (migration.version <= current) continue;
        migration.up(this.db);
      }
      this.setMeta('schema_version', String(SCHEMA_VERSION));
      this.db.exec('COMMIT');
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }

  getMeta(key: string): string | undefined {
    return (
      this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as
        { value: string } | undefined
    )?.value;
  }

  setMeta(key: string, value: string): void {
    this.db
      .prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      )
      .run(key, value);
  }

  begin(): void {
    this.db.exec('BEGIN IMMEDIATE');
  }

  commit(): void {
    this.db.exec('COMMIT');
  }

  rollback(): void {
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
  }

  /** Insert one row and return its rowid (checked > 0). */
  insert(row: NewRow): number {
    this.insertStatement ??= this.db.prepare(
      `INSERT INTO records (${INSERT_COLUMNS.join(', ')}) VALUES (${INSERT_COLUMNS.map(() => '?').join(', ')})`,
    );
    return checkedRowid(this.insertStatement, INSERT_COLUMNS, row, 'record');
  }

  /**
   * Insert rows in order and return their rowids (each checked > 0), as `insert` would one by
   * one, inside the caller's transaction. From BULK_FROM rows on, the insert triggers with a
   * set-wise equivalent are suspended for the inserts and their work done once for all the new
   * rows (suspendInsertTriggers).
   */
  insertMany(rows: readonly NewRow[], onRow?: (done: number) => void): number[] {
    if (!this.db.inTransaction) throw new Error('insertMany needs an open transaction');
    const suspended = rows.length < BULK_FROM ? undefined : this.suspendInsertTriggers();
    const rowids = rows.map((row, i) => {
      const rowid = this.insert(row);
      onRow?.(i + 1);
      return rowid;
    });
    if (suspended !== undefined && rowids.length > 0)
      this.resumeInsertTriggers(suspended, rowids[0]!);
    return rowids;
  }

  /**
   * Drop the AFTER INSERT triggers of `records` for a run of inserts, when each has a set-wise
   * equivalent (BULK_FILLS): FTS5 then tokenizes the new rows in one statement instead of one
   * trigger program a row. Returns the dropped triggers, or undefined (nothing dropped) should
   * `records` carry an insert trigger without an equivalent (a newer schema): every row then
   * goes through the triggers as usual. They are dropped and made again within the caller's
   * transaction, so a rollback restores them and no other connection ever sees them missing.
   */
  private suspendInsertTriggers(): { name: string; sql: string }[] | undefined {
    const triggers = this.triggersOfRecords(/\bINSERT\s+ON\b/i);
    if (!triggers.every((t) => t.name in BULK_FILLS)) return undefined;
    for (const { name } of triggers) this.db.exec(`DROP TRIGGER ${name}`);
    return triggers;
  }

  /** Do the suspended triggers' work for every row from `fromRowid` on, and make them again. */
  resumeInsertTriggers(triggers: { name: string; sql: string }[], fromRowid: number): void {
    this.fillForTriggers(triggers, fromRowid);
    for (const { sql } of triggers) this.db.exec(sql);
  }

  /** The suspended triggers' work for every row from `fromRowid` on. */
  fillForTriggers(triggers: readonly { name: string }[], fromRowid: number): void {
    for (const { name } of triggers) this.db.prepare(BULK_FILLS[name]!).run(fromRowid);
  }

  private triggersOfRecords(event: RegExp): { name: string; sql: string }[] {
    return (
      this.db
        .prepare(
          "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'records'",
        )
        .all() as { name: string; sql: string }[]
    ).filter((t) => event.test(t.sql));
  }

  /**
   * Fill a database that nobody else has open and that holds no records yet (a new index being
   * built beside index.db, or one in memory), in one transaction.
   */
  fillEmpty(rows: readonly NewRow[], events: readonly NewEventRow[] = []): void {
    const fill = this.beginFill();
    try {
      for (const row of rows) fill.insert(row);
      fill.finish(events);
    } catch (error) {
      fill.abort();
      throw error;
    }
  }

  /**
   * Start filling a database that nobody else has open and that holds no records yet, in one
   * transaction, with rows that may come in any order: `finish` leaves them in id order, so
   * the same rows always give the same file. The secondary indexes are dropped and made again
   * after the rows (SQLite then builds each by one sort instead of scattered inserts), the FTS5
   * and tag tables are filled in bulk at the end, the journal is kept in memory and nothing is
   * fsynced: a crash leaves a temp file that is never installed, and the caller fsyncs the
   * finished file.
   */
  beginFill(): Fill {
    this.db.pragma('journal_mode = MEMORY');
    this.db.pragma('synchronous = OFF');
    this.db.pragma(`cache_size = -${FILL_CACHE_KIB}`);
    this.begin();
    try {
      const indexes = this.db
        .prepare(
          "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('records', 'record_tags', 'events')",
        )
        .all() as { name: string; sql: string }[];
      for (const { name } of indexes) this.db.exec(`DROP INDEX ${name}`);
      const triggers = this.suspendInsertTriggers();
      if (triggers === undefined) throw new Error('an insert trigger of records has no bulk fill');
      return new Fill(this, indexes, triggers);
    } catch (error) {
      this.rollback();
      throw error;
    }
  }

  /**
   * Put the rows of a fill in id order, renumbered from 1 (Fill.finish, when they came in
   * another order). The insert triggers are suspended; what their bulk fills made so far is
   * emptied (finish makes it again for the new rowids), and the delete triggers are suspended
   * too for the move.
   */
  reorderFilledRows(): void {
    this.db.exec(
      "INSERT INTO records_fts (records_fts) VALUES ('delete-all'); DELETE FROM record_tags;",
    );
    const deletes = this.triggersOfRecords(/\bDELETE\s+ON\b/i);
    for (const { name } of deletes) this.db.exec(`DROP TRIGGER ${name}`);
    const columns = INSERT_COLUMNS.join(', ');
    this.db.exec(`CREATE TEMP TABLE fill_unordered AS SELECT ${columns} FROM records;
      DELETE FROM records;
      UPDATE sqlite_sequence SET seq = 0 WHERE name = 'records';
      INSERT INTO records (${columns}) SELECT ${columns} FROM fill_unordered ORDER BY id;
      DROP TABLE fill_unordered;`);
    for (const { sql } of deletes) this.db.exec(sql);
  }

  /**
   * Make the row for `row.path` equal `row`, keeping its rowid when it exists (a person's edit
   * adopted by cleanup is the same record). Returns the rowid.
   */
  replace(row: NewRow): number {
    const existing = this.rowByPath(row.path);
    if (existing === undefined) {
      this.db.prepare('DELETE FROM records WHERE id = ?').run(row.id);
      return this.insert(row);
    }
    this.db
      .prepare(
        `UPDATE records SET ${INSERT_COLUMNS.map((c) => `${c} = @${c}`).join(', ')} WHERE rowid = @rowid`,
      )
      .run({ ...row, rowid: existing.rowid });
    return existing.rowid;
  }

  /**
   * Mark rows whose texts passed the secret scan with the scan's fingerprint (record_scans);
   * `undefined` leaves a row unmarked. Inside the caller's transaction.
   */
  markScanned(rows: readonly (readonly [rowid: number, scanned: string | undefined])[]): void {
    let mark: BetterSqlite3.Statement | undefined;
    for (const [rowid, scanned] of rows) {
      if (scanned === undefined) continue;
      mark ??= this.db.prepare(
        'INSERT OR REPLACE INTO record_scans (rowid_ref, rules) VALUES (?, ?)',
      );
      mark.run(rowid, scanned);
    }
  }

  /**
   * Keep the secret-scan marks that the index at `oldFile` holds (schema 4) for every row here
   * whose scanned texts (the columns whose change takes a mark away, db/schema.ts) are exactly
   * those of the marked row there with the same id: reindex then leaves verify no more to scan
   * than before. A mark still names the rules it was made with. Returns how many were kept; 0
   * when the old index is missing, has no marks or cannot be read.
   */
  adoptScanMarks(oldFile: string): number {
    if (!fs.existsSync(oldFile)) return 0;
    try {
      this.db.prepare('ATTACH ? AS old').run(oldFile);
    } catch {
      return 0;
    }
    try {
      const marked = this.db
        .prepare("SELECT 1 FROM old.sqlite_master WHERE type = 'table' AND name = 'record_scans'")
        .get();
      if (marked === undefined) return 0;
      const same = SCANNED_COLUMNS.map((c) => `o.${c} IS n.${c}`).join(' AND ');
      // Deferred: only the new index is written, the old one is only read.
      this.db.exec('BEGIN');
      const { changes } = this.db
        .prepare(
          `INSERT INTO main.record_scans (rowid_ref, rules)
             SELECT n.rowid, s.rules FROM main.records n
               JOIN old.records o ON o.id = n.id
               JOIN old.record_scans s ON s.rowid_ref = o.rowid
              WHERE ${same}`,
        )
        .run();
      this.commit();
      return changes;
    } catch {
      this.rollback();
      return 0;
    } finally {
      this.db.exec('DETACH old');
    }
  }

  /** Insert one event row and return its rowid (checked > 0). */
  insertEvent(row: NewEventRow): number {
    this.insertEventStatement ??= this.db.prepare(
      `INSERT INTO events (${EVENT_COLUMNS.join(', ')}) VALUES (${EVENT_COLUMNS.map(() => '?').join(', ')})`,
    );
    return checkedRowid(this.insertEventStatement, EVENT_COLUMNS, row, 'event');
  }

  /** The events of one record, in ULID order. */
  eventsFor(target: string): LifecycleEvent[] {
    return (
      this.db.prepare('SELECT payload FROM events WHERE target = ? ORDER BY id').all(target) as {
        payload: string;
      }[]
    ).map((r) => JSON.parse(r.payload) as LifecycleEvent);
  }

  eventByPath(path: string): EventRow | undefined {
    return this.db.prepare('SELECT * FROM events WHERE path = ?').get(path) as EventRow | undefined;
  }

  deleteEventByPath(path: string): number {
    return this.db.prepare('DELETE FROM events WHERE path = ?').run(path).changes;
  }

  eventById(id: string): EventRow | undefined {
    return this.db.prepare('SELECT * FROM events WHERE id = ?').get(id) as EventRow | undefined;
  }

  /** Set the folded columns of the record `id`. */
  applyFold(id: string, state: FoldedState): void {
    this.db
      .prepare(
        `UPDATE records SET ${FOLDED_COLUMNS.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`,
      )
      .run({ ...foldedColumns(state), id });
  }

  /** The targets of the events a transaction wrote. */
  eventTargetsOfTxid(txid: string): string[] {
    return (
      this.db.prepare('SELECT DISTINCT target FROM events WHERE txid = ?').all(txid) as {
        target: string;
      }[]
    ).map((r) => r.target);
  }

  setCommitForTxid(txid: string, commit: string): void {
    this.db.prepare('UPDATE records SET commit_oid = ? WHERE txid = ?').run(commit, txid);
    this.db.prepare('UPDATE events SET commit_oid = ? WHERE txid = ?').run(commit, txid);
  }

  setCommitForRecords(ids: readonly string[], commit: string): void {
    const update = this.db.prepare('UPDATE records SET commit_oid = ? WHERE id = ?');
    const updateEvent = this.db.prepare('UPDATE events SET commit_oid = ? WHERE id = ?');
    for (const id of ids) {
      update.run(commit, id);
      updateEvent.run(commit, id);
    }
  }

  rowById(id: string): RecordRow | undefined {
    return this.db.prepare('SELECT * FROM records WHERE id = ?').get(id) as RecordRow | undefined;
  }

  rowByPath(path: string): RecordRow | undefined {
    return this.db.prepare('SELECT * FROM records WHERE path = ?').get(path) as
      RecordRow | undefined;
  }

  /** Remove the rows and event rows a transaction wrote (the caller re-folds the targets). */
  deleteByTxid(txid: string): number {
    return (
      this.db.prepare('DELETE FROM records WHERE txid = ?').run(txid).changes +
      this.db.prepare('DELETE FROM events WHERE txid = ?').run(txid).changes
    );
  }

  deleteByPath(path: string): number {
    return this.db.prepare('DELETE FROM records WHERE path = ?').run(path).changes;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/**
 * A fill of an empty database in progress (Database.beginFill): rows go in as they come;
 * `finish` inserts the events, fills the FTS5 and tag tables, makes the indexes and commits;
 * `abort` rolls it all back.
 */
export class Fill {
  private lastId = '';
  private ordered = true;
  /** The last rowid inserted, and the last whose FTS5 and tag rows are made (catchUp). */
  private inserted = 0;
  private caughtUp = 0;

  constructor(
    private readonly database: Database,
    private readonly indexes: readonly { name: string; sql: string }[],
    private readonly triggers: { name: string; sql: string }[],
  ) {}

  /** Insert a row (its rowid is only final after finish). */
  insert(row: NewRow): void {
    this.inserted = this.database.insert(row);
    if (row.id <= this.lastId) this.ordered = false;
    this.lastId = row.id;
  }

  /**
   * Make the FTS5 and tag rows of the rows inserted since the last call, as the suspended
   * triggers would have: a caller that has other work to overlap (the files still being read
   * on another thread) calls it between batches, and finish has less left to do. Rows that
   * came out of id order are left to finish, which renumbers them.
   */
  catchUp(): void {
    if (!this.ordered || this.inserted === this.caughtUp) return;
    this.database.fillForTriggers(this.triggers, this.caughtUp + 1);
    this.caughtUp = this.inserted;
  }

  /** Change the commit of rows already inserted (id -> commit). */
  setCommits(commits: ReadonlyMap<string, string>): void {
    const update = this.database.db.prepare('UPDATE records SET commit_oid = ? WHERE id = ?');
    for (const [id, commit] of commits) update.run(commit, id);
  }

  finish(events: readonly NewEventRow[]): void {
    if (!this.ordered) {
      this.database.reorderFilledRows();
      this.caughtUp = 0;
    }
    this.database.resumeInsertTriggers(this.triggers, this.caughtUp + 1);
    for (const event of events) this.database.insertEvent(event);
    for (const { sql } of this.indexes) this.database.db.exec(sql);
    this.database.commit();
  }

  abort(): void {
    this.database.rollback();
  }
}
