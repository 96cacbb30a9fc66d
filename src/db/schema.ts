// The SQLite schema is a documented interface (docs/store-format.md): people query index.db
// with sqlite3 directly. Changes are new migrations, applied in order under the writers' lock.

import type BetterSqlite3 from 'better-sqlite3';

export interface Migration {
  readonly version: number;
  readonly up: (db: BetterSqlite3.Database) => void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up(db) {
      db.exec(`
        CREATE TABLE IF NOT EXISTS meta (
          key   TEXT PRIMARY KEY,
          value TEXT NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE records (
          rowid         INTEGER PRIMARY KEY AUTOINCREMENT,
          id            TEXT NOT NULL UNIQUE,
          kind          TEXT NOT NULL CHECK (kind IN ('failure', 'heuristic')),
          path          TEXT NOT NULL UNIQUE,
          title         TEXT NOT NULL,
          domain        TEXT NOT NULL,
          tags          TEXT NOT NULL DEFAULT '[]',
          created       TEXT NOT NULL,
          severity      INTEGER CHECK (severity BETWEEN 1 AND 5),
          source        TEXT,
          confidence    REAL CHECK (confidence BETWEEN 0 AND 1),
          source_id     TEXT,
          body          TEXT NOT NULL,
          imported_from TEXT,
          blob_oid      TEXT NOT NULL,
          commit_oid    TEXT NOT NULL,
          txid          TEXT NOT NULL
        );
        CREATE INDEX records_kind_domain_created ON records (kind, domain, created);
        CREATE INDEX records_created ON records (created);
        CREATE INDEX records_txid ON records (txid);

        CREATE VIRTUAL TABLE records_fts USING fts5 (
          title, body, tags, domain,
          content = 'records', content_rowid = 'rowid',
          tokenize = 'unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER records_fts_insert AFTER INSERT ON records BEGIN
          INSERT INTO records_fts (rowid, title, body, tags, domain)
          VALUES (new.rowid, new.title, new.body, new.tags, new.domain);
        END;
        CREATE TRIGGER records_fts_delete AFTER DELETE ON records BEGIN
          INSERT INTO records_fts (records_fts, rowid, title, body, tags, domain)
          VALUES ('delete', old.rowid, old.title, old.body, old.tags, old.domain);
        END;
        CREATE TRIGGER records_fts_update AFTER UPDATE OF title, body, tags, domain ON records BEGIN
          INSERT INTO records_fts (records_fts, rowid, title, body, tags, domain)
          VALUES ('delete', old.rowid, old.title, old.body, old.tags, old.domain);
          INSERT INTO records_fts (rowid, title, body, tags, domain)
          VALUES (new.rowid, new.title, new.body, new.tags, new.domain);
        END;
      `);
    },
  },
  {
    // Tags as rows, so filters and the context digest's related records use an index instead of
    // parsing every row's JSON. Kept in step with records.tags by triggers.
    version: 2,
    up(db) {
      db.exec(`
        CREATE TABLE record_tags (
          rowid_ref INTEGER NOT NULL REFERENCES records (rowid) ON DELETE CASCADE,
          tag       TEXT NOT NULL,
          PRIMARY KEY (tag, rowid_ref)
        ) WITHOUT ROWID;
        CREATE INDEX record_tags_rowid ON record_tags (rowid_ref);
        -- The orders the context digest reads a domain in.
        CREATE INDEX records_domain ON records (domain);
        CREATE INDEX records_by_confidence ON records (kind, domain, confidence DESC, created DESC);
        CREATE INDEX records_by_severity ON records (kind, domain, severity DESC, created DESC);
        INSERT OR IGNORE INTO record_tags (rowid_ref, tag)
          SELECT records.rowid, json_each.value FROM records, json_each(records.tags);
        CREATE TRIGGER record_tags_insert AFTER INSERT ON records BEGIN
          INSERT OR IGNORE INTO record_tags (rowid_ref, tag) SELECT new.rowid, value FROM json_each(new.tags);
        END;
        CREATE TRIGGER record_tags_delete AFTER DELETE ON records BEGIN
          DELETE FROM record_tags WHERE rowid_ref = old.rowid;
        END;
        CREATE TRIGGER record_tags_update AFTER UPDATE OF tags ON records BEGIN
          DELETE FROM record_tags WHERE rowid_ref = old.rowid;
          INSERT OR IGNORE INTO record_tags (rowid_ref, tag) SELECT new.rowid, value FROM json_each(new.tags);
        END;
      `);
    },
  },
  {
    // Lifecycle events (docs/lifecycle.md): one row per event file, and on each record the
    // fold of its events. An index of an older version holds no events at all, so the writer
    // that migrates it rebuilds its rows from HEAD (Database.openForWrite reports it as new).
    version: 3,
    up(db) {
      db.exec(`
        ALTER TABLE records ADD COLUMN validations INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE records ADD COLUMN violations INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE records ADD COLUMN golden INTEGER NOT NULL DEFAULT 0 CHECK (golden IN (0, 1));
        ALTER TABLE records ADD COLUMN retired INTEGER NOT NULL DEFAULT 0 CHECK (retired IN (0, 1));
        ALTER TABLE records ADD COLUMN retired_reason TEXT;
        ALTER TABLE records ADD COLUMN superseded_by TEXT;
        CREATE INDEX records_golden ON records (golden, domain) WHERE golden = 1;
        -- The order the context digest reads rules in: golden first, then by confidence.
        CREATE INDEX records_rules ON records (kind, retired, golden DESC, confidence DESC, created DESC);
        CREATE INDEX records_rules_domain
          ON records (kind, retired, domain, golden DESC, confidence DESC, created DESC);

        CREATE TABLE events (
          rowid      INTEGER PRIMARY KEY AUTOINCREMENT,
          id         TEXT NOT NULL UNIQUE,
          verb       TEXT NOT NULL
                     CHECK (verb IN ('validate', 'violate', 'promote', 'demote', 'update', 'retire')),
          target     TEXT NOT NULL,
          created    TEXT NOT NULL,
          payload    TEXT NOT NULL,
          path       TEXT NOT NULL UNIQUE,
          blob_oid   TEXT NOT NULL,
          commit_oid TEXT NOT NULL,
          txid       TEXT NOT NULL
        );
        CREATE INDEX events_target ON events (target, id);
        CREATE INDEX events_txid ON events (txid);
      `);
    },
  },
  {
    // The secret scan's marks (docs/secrets.md): a writer that scanned a row's texts, as verify
    // reads them, with the rules `rules` names, and found no secret its record did not allow,
    // marks the row; verify then does not scan it again (verify --deep always does). A change of
    // any of those texts takes the mark away, so a mark never outlives what was scanned. Nothing
    // to fill: rows from before have no mark and are scanned as before.
    version: 4,
    up(db) {
      db.exec(`
        CREATE TABLE record_scans (
          rowid_ref INTEGER PRIMARY KEY,
          rules     TEXT NOT NULL
        );
        CREATE TRIGGER record_scans_update
          AFTER UPDATE OF kind, title, domain, tags, body, source_id, imported_from ON records
          WHEN old.kind IS NOT new.kind OR old.title IS NOT new.title
            OR old.domain IS NOT new.domain OR old.tags IS NOT new.tags
            OR old.body IS NOT new.body OR old.source_id IS NOT new.source_id
            OR old.imported_from IS NOT new.imported_from
        BEGIN
          DELETE FROM record_scans WHERE rowid_ref = old.rowid;
        END;
        CREATE TRIGGER record_scans_delete AFTER DELETE ON records BEGIN
          DELETE FROM record_scans WHERE rowid_ref = old.rowid;
        END;
      `);
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Below this version an index holds no events: a writer migrating it fills it again from HEAD. */
export const REFILL_BELOW_VERSION = 3;

/** The oldest schema readers can answer from (later versions only add what writers keep). */
export const READABLE_FROM_VERSION = 3;
