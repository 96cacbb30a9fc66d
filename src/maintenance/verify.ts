// `lessons verify`: do git HEAD, the rows of index.db and the working files agree, record by
// record? Read-only: it opens SQLite read-only, takes no lock and never waits on writers.
//
// A transaction in flight is not a problem: its paths are in a journal entry whose writer is
// alive. Because writers keep moving while verify reads, any findings are checked by a second
// survey, and only those seen by both are reported.

import fs from 'node:fs';
import path from 'node:path';
import {
  foldedRow,
  INSERT_COLUMNS,
  rowFromRecord,
  type EventRow,
  type NewRow,
  type RecordRow,
} from '../db/database.js';
import { IndexNotAFileError, SqliteCorruptError, UsageError } from '../errors/index.js';
import { readCommit } from '../git/commit.js';
import { hashObject } from '../git/hash.js';
import type { IndexStat } from '../git/index-file.js';
import { GitRepository } from '../git/repository.js';
import { isEventPath, parseEvent, type LifecycleEvent } from '../record/event.js';
import { foldRecord } from '../record/fold.js';
import { parseRecord } from '../record/markdown.js';
import type { LessonRecord } from '../record/types.js';
import { layoutFor, resolveStoreDir, type StoreLayout } from '../resources/layout.js';
import { liveness } from '../resources/owner.js';
import { gitdirProblem } from '../resources/preflight.js';
import { Journal } from '../resources/journal.js';
import { Conflicts } from '../resources/conflicts.js';
import { finding, findingKey, type Finding } from './findings.js';
import { readSmallFile } from '../util/durable.js';
import { trace } from '../util/faults.js';
import {
  openIndexForReading,
  storeWritable,
  type IndexOrigin,
  type ReadableIndex,
} from '../resources/index-db.js';
import type { OnProgress } from '../util/progress.js';
import { recordFiles } from '../db/rebuild.js';
import {
  judgeMatches,
  scanHistory,
  textPages,
  trustedMarks,
  type HistoryMatch,
  type ScannedRow,
} from './secrets-in-history.js';
import { startHistoryScan, type HistoryScan } from './scan-thread.js';
import { deepObjects } from './deep-objects.js';
import { linkFinding, shapeFindings } from './shape.js';
import { recordPath, isRecordPath } from '../record/paths.js';
import { unpackWalk, walkRecordFolders, type WorkFile } from './walk.js';

export interface VerifyOptions {
  /** integrity_check instead of quick_check, every reachable object re-hashed, every file hashed. */
  readonly deep?: boolean | undefined;
  /** Journal entries older than this are pending, not in flight. @default 10000 */
  readonly staleMs?: number | undefined;
  readonly onProgress?: OnProgress | undefined;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly store: string;
  readonly head: string | null;
  /** Records in HEAD. */
  readonly records: number;
  /** Lifecycle events in HEAD. */
  readonly events: number;
  readonly deep: boolean;
  /** The store could not be written: its index was read through a private copy. */
  readonly readOnly: boolean;
  /** Where the index checked came from; 'built' and 'memory' mean index.db was missing. */
  readonly index: IndexOrigin;
  readonly findings: readonly Finding[];
}

/** What verify keeps of a record's row; its texts are read again when they are needed. */
export type RowRef = Pick<RecordRow, 'id' | 'path' | 'blob_oid'>;

/** Everything one pass of verify saw, which cleanup then acts on. */
export interface Survey {
  readonly head: string | undefined;
  readonly tree: ReadonlyMap<string, string>;
  readonly rows: ReadonlyMap<string, RowRef> | undefined;
  /** The rows of lifecycle events, by path (undefined when index.db could not be read). */
  readonly events: ReadonlyMap<string, EventRow> | undefined;
  readonly files: ReadonlyMap<string, WorkFile>;
  /** Paths of transactions in flight, which are nobody's problem yet. */
  readonly inFlight: ReadonlySet<string>;
  readonly findings: readonly Finding[];
}

/** Temp files of our atomic writes: `<name>.tmp-<pid>-<hex>`. */
export const TEMP_FILE = /\.tmp-(\d+)-[0-9a-f]+$/;

export function requireStore(dir: string): StoreLayout {
  const layout = layoutFor(resolveStoreDir(dir));
  const unusable = gitdirProblem(layout);
  if (unusable !== undefined) throw unusable;
  if (!fs.existsSync(path.join(layout.gitdir, 'HEAD'))) {
    throw new UsageError(
      'NOT_A_STORE',
      `${layout.dir} is not a lessons store (no .git/HEAD). Pass --dir <store> or set LESSONS_DIR.`,
    );
  }
  return layout;
}

/** What one look at the store needs: the options of verify, with the stale time decided. */
export type SurveyOptions = VerifyOptions & { readonly staleMs: number };

export async function verifyStore(dir: string, options: SurveyOptions): Promise<VerifyReport> {
  const layout = requireStore(dir);
  // A missing index.db is built from HEAD here (not a finding); a read-only store is checked
  // through a private copy of its index. Either way the index is opened once for both looks.
  let index: ReadableIndex | undefined;
  try {
    index = await openIndexForReading(layout, { onProgress: options.onProgress });
  } catch (error) {
    if (!(error instanceof IndexNotAFileError || error instanceof SqliteCorruptError)) throw error;
    index = undefined; // reported as a finding by the survey
  }
  // The walk of the record folders and the secret scan on a second core (scan-thread.ts), for
  // the first look.
  const scan =
    index?.origin === 'file' && index.database !== undefined
      ? startHistoryScan({ dbFile: layout.dbFile, deep: options.deep === true, dir: layout.dir })
      : undefined;
  try {
    let survey = await surveyStore(layout, options, index, scan);
    if (survey.findings.length > 0) {
      // Writers may have moved on while we read: keep what a second look confirms.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const first = new Set(survey.findings.map(findingKey));
      const second = await surveyStore(
        layout,
        options,
        index?.origin === 'file' ? undefined : index,
      );
      survey = { ...second, findings: second.findings.filter((f) => first.has(findingKey(f))) };
    }
    return {
      ok: survey.findings.length === 0,
      store: layout.dir,
      head: survey.head ?? null,
      records: [...survey.tree.keys()].filter((p) => !isEventPath(p)).length,
      events: [...survey.tree.keys()].filter(isEventPath).length,
      deep: options.deep === true,
      readOnly: index?.readOnly ?? !storeWritable(layout.dir),
      index: index?.origin ?? 'file',
      findings: survey.findings,
    };
  } finally {
    scan?.stop();
    index?.close();
  }
}

/** Paths of journal entries whose writers may still be at work, and the pending entries. */
function journalState(
  layout: StoreLayout,
  staleMs: number,
): { inFlight: Set<string>; pending: Finding[] } {
  const inFlight = new Set<string>();
  const pending: Finding[] = [];
  for (const file of new Journal(layout.journalDir).list()) {
    const young = Date.now() - file.mtimeMs <= staleMs;
    const state = file.entry === undefined ? 'unknown' : liveness(file.entry.owner);
    const paths = [
      ...(file.entry?.records ?? []).map((r) => r.path),
      ...(file.entry?.integrate?.changes ?? []).map((c) => c.path),
    ];
    if (state === 'alive' || (state === 'unknown' && young)) {
      for (const p of paths) inFlight.add(p);
      continue;
    }
    pending.push(
      finding(
        'JOURNAL_PENDING',
        file.entry === undefined
          ? `journal entry ${file.txid} is unreadable (${file.problem ?? 'torn'})`
          : `transaction ${file.txid} (${file.entry.records.length} records, pid ${file.entry.owner.pid}) was left in flight`,
        { path: path.relative(layout.dir, file.file) },
      ),
    );
    for (const p of paths) inFlight.add(p);
  }
  return { inFlight, pending };
}

/**
 * index.db as one look reads it. No read transaction spans the look: in rollback-journal mode
 * (an index.db just rebuilt) it would block writers for as long as verify runs. What changes
 * between the reads is what verify's second look is for.
 */
interface RowSource {
  readonly rows: Map<string, RowRef>;
  readonly events: Map<string, EventRow>;
  /**
   * A record's whole row (verify --deep and the fold checks compare every column). Lookups
   * share a read transaction a thousand at a time, which `endLookups` ends.
   */
  readonly full: (path: string) => RecordRow | undefined;
  /**
   * Does the row of `path` hold `expected` in every column but its commit and txid (which
   * expected takes from the row)? Asked of SQLite, so the row is not read out: a third of the
   * cost of `full`. A lookup like `full`.
   */
  readonly agrees: (path: string, expected: NewRow) => boolean;
  readonly endLookups: () => void;
  /**
   * The texts of every record the secret scan must look at (those its writer did not mark as
   * scanned, or all of them for --deep), a page at a time: a store's bodies are never held at once.
   */
  readonly texts: () => Promise<Iterable<ScannedRow>>;
  /** index.db's integrity_check: 'ok' or its first problem. */
  readonly integrity: () => string;
  /** Closes the index if this look opened it. */
  readonly close: () => void;
}

const FULL_COLUMNS = ['rowid', ...INSERT_COLUMNS] as const satisfies readonly (keyof RecordRow)[];

/** The columns RowSource.agrees compares: all but the path it looks up, the commit and the txid. */
const AGREED_COLUMNS = INSERT_COLUMNS.filter(
  (c) => c !== 'path' && c !== 'commit_oid' && c !== 'txid',
);

/**
 * The rows, once index.db passed `check`: quick_check, or integrity_check (--deep without a
 * scan thread to run it).
 */
async function readRows(
  layout: StoreLayout,
  deep: boolean,
  check: 'quick_check' | 'integrity_check',
  given: ReadableIndex | undefined,
): Promise<{ source: RowSource | undefined; problem: Finding | undefined }> {
  let index: ReadableIndex | undefined = given;
  const close = (): void => {
    if (given === undefined) index?.close();
  };
  try {
    index ??= await openIndexForReading(layout);
    const database = index.database;
    if (database === undefined) {
      close();
      return {
        source: {
          rows: new Map(),
          events: new Map(),
          full: () => undefined,
          agrees: () => false,
          endLookups: () => undefined,
          texts: async () => [],
          integrity: () => 'ok',
          close: () => undefined,
        },
        problem: undefined,
      };
    }
    const { db } = database;
    const verdict = String(db.pragma(check, { simple: true }));
    if (verdict !== 'ok') throw new SqliteCorruptError(layout.dbFile, new Error(verdict));
    const rows = new Map<string, RowRef>();
    // As arrays: better-sqlite3 builds them at half the cost of objects (100k rows: 0.45 s → 0.36 s).
    for (const [id, p, blob] of db
      .prepare('SELECT id, path, blob_oid FROM records')
      .raw()
      .iterate() as Iterable<[string, string, string]>)
      rows.set(p, { id, path: p, blob_oid: blob });
    const events = new Map<string, EventRow>();
    for (const row of db.prepare('SELECT * FROM events').iterate() as Iterable<EventRow>)
      events.set(row.path, row);
    // As an array too: --deep reads every record's row this way (about 4 µs a row less).
    const byPath = db
      .prepare(`SELECT ${FULL_COLUMNS.join(', ')} FROM records WHERE path = ?`)
      .raw();
    const agreeing = db
      .prepare(
        `SELECT 1 FROM records WHERE path = ? AND ${AGREED_COLUMNS.map((c) => `${c} IS ?`).join(' AND ')}`,
      )
      .pluck();
    // In WAL mode a thousand lookups share one read transaction: SQLite looks at the WAL once
    // for them, not once a row (about half the cost), and a reader never holds up a writer
    // there. In rollback-journal mode (an index.db reindex just wrote) each lookup is its own:
    // a shared lock held across the files read in between would hold up a writer's commit.
    const batched = String(db.pragma('journal_mode', { simple: true })) === 'wal';
    let lookups = 0;
    let reading = false;
    const endLookups = (): void => {
      if (reading) db.exec('COMMIT');
      reading = false;
      lookups = 0;
    };
    const lookup = <T>(look: () => T): T => {
      if (batched && lookups === 0 && !db.inTransaction) {
        db.exec('BEGIN');
        reading = true;
      }
      const found = look();
      if (++lookups === 1000) endLookups();
      return found;
    };
    return {
      source: {
        rows,
        events,
        full: (p) => {
          const values = lookup(() => byPath.get(p) as unknown[] | undefined);
          return values === undefined
            ? undefined
            : (Object.fromEntries(
                FULL_COLUMNS.map((c, i) => [c, values[i]]),
              ) as unknown as RecordRow);
        },
        agrees: (p, expected) =>
          lookup(
            () =>
              agreeing.get(
                p,
                AGREED_COLUMNS.map((c) => expected[c]),
              ) !== undefined,
          ),
        texts: async () => textPages(db, await trustedMarks(db, deep)),
        endLookups,
        integrity: () => String(db.pragma('integrity_check', { simple: true })),
        close: () => {
          endLookups();
          close();
        },
      },
      problem: undefined,
    };
  } catch (error) {
    close();
    if (error instanceof IndexNotAFileError)
      return {
        source: undefined,
        problem: finding('INDEX_NOT_A_FILE', error.message, { path: 'index.db' }),
      };
    if (!(error instanceof SqliteCorruptError)) throw error;
    return { source: undefined, problem: corruptFinding(error) };
  }
}

function corruptFinding(error: SqliteCorruptError): Finding {
  const cause = error.cause instanceof Error ? error.cause.message : error.message;
  return finding('SQLITE_CORRUPT', `index.db cannot be read: ${cause.split('\n')[0]}`, {
    path: 'index.db',
  });
}

/**
 * Does a working file hold exactly `oid`? 'stat' when git's stat data says so (trusted only
 * before `trustStatBefore`, never by --deep), its bytes when they hash to `oid` (--deep parses
 * them next), undefined when it does not.
 */
function fileMatches(
  layout: StoreLayout,
  file: WorkFile,
  oid: string,
  indexed: IndexStat | undefined,
  trustStatBefore: bigint | undefined,
): 'stat' | Buffer | undefined {
  // git's own test: the stat data recorded in the index still holds, and the file was not
  // modified in the same instant the index was written ("racily clean").
  if (
    trustStatBefore !== undefined &&
    indexed?.oid === oid &&
    file.mtimeNs < trustStatBefore &&
    file.stat === indexed.stat
  )
    return 'stat';
  const bytes = readSmallFile(path.join(layout.dir, file.path));
  return hashObject('blob', bytes) === oid ? bytes : undefined;
}

/** The folder a record belongs in: a changed id, kind, domain or date is not an edit. */
function sameIdentity(a: LessonRecord, b: LessonRecord): boolean {
  return (
    a.id === b.id &&
    a.kind === b.kind &&
    path.posix.dirname(recordPath(a)) === path.posix.dirname(recordPath(b))
  );
}

/** Classify a tracked file whose bytes differ from HEAD. */
async function classifyEdit(
  layout: StoreLayout,
  repo: GitRepository,
  p: string,
  oid: string,
): Promise<Finding> {
  if (isEventPath(p)) {
    try {
      parseEvent(fs.readFileSync(path.join(layout.dir, p)));
    } catch (error) {
      return finding('FILE_UNPARSEABLE', `${p} does not parse: ${(error as Error).message}`, {
        path: p,
      });
    }
    // An event is a fact of history: any edit of it is put back, never adopted.
    return finding(
      'FIELD_MISMATCH',
      `${p} was edited to another identity than its committed event (events are never edited)`,
      { path: p },
    );
  }
  let edited: LessonRecord;
  try {
    edited = parseRecord(fs.readFileSync(path.join(layout.dir, p)));
  } catch (error) {
    return finding('FILE_UNPARSEABLE', `${p} does not parse: ${(error as Error).message}`, {
      path: p,
    });
  }
  let committed: LessonRecord | undefined;
  try {
    committed = parseRecord(await repo.objects.readTyped(oid, 'blob'));
  } catch {
    committed = undefined;
  }
  if (committed !== undefined && !sameIdentity(edited, committed)) {
    return finding(
      'FIELD_MISMATCH',
      `${p} was edited to another identity (id ${edited.id}, kind ${edited.kind}, domain ${edited.domain}) than the committed record ${committed.id}`,
      { path: p, id: committed.id },
    );
  }
  return finding('FILE_MODIFIED', `${p} differs from HEAD: a valid edit not yet committed`, {
    path: p,
    id: edited.id,
  });
}

/** One look at the store: every disagreement between HEAD, the rows and the files. */
export async function surveyStore(
  layout: StoreLayout,
  options: SurveyOptions,
  sqliteIndex?: ReadableIndex,
  scan?: HistoryScan,
): Promise<Survey> {
  const deep = options.deep === true;
  const repo = new GitRepository(layout.dir);
  const findings: Finding[] = [];

  // .git/index first. Its mtime is taken before it is read (git's racy-clean test must not
  // trust a stat newer than the entries). An index a writer replaces while verify runs differs
  // from HEAD only for that writer's records: a finding the second look does not confirm.
  const indexMtime = deep
    ? undefined
    : fs.statSync(repo.indexPath, { bigint: true, throwIfNoEntry: false })?.mtimeNs;
  const index = repo.indexStats();
  // Rows, then HEAD: a row is committed only after main moved, so HEAD read afterwards
  // holds every record whose row we saw.
  // With a scan thread, --deep's integrity_check runs there (scan-thread.ts), and this thread
  // reads the rows once quick_check passed.
  const threadChecks = deep && scan !== undefined;
  const { source, problem } = await readRows(
    layout,
    deep,
    deep && !threadChecks ? 'integrity_check' : 'quick_check',
    sqliteIndex,
  );
  try {
    const rows = source?.rows;
    const events = source?.events;
    if (problem !== undefined) findings.push(problem);
    const journal = journalState(layout, options.staleMs);
    const head = repo.readableHead();
    // --deep: the thread checks HEAD's objects while this one checks the records (none without
    // a HEAD: the thread goes on to integrity_check).
    const objects = deep ? scan?.objects(head ?? null, options.onProgress) : undefined;
    let tree = new Map<string, string>();
    if (head !== undefined) {
      try {
        tree = await recordFiles(repo, (await readCommit(repo.objects, head)).tree);
      } catch (error) {
        findings.push(
          finding(
            'GIT_OBJECT_CORRUPT',
            `HEAD ${head} cannot be read: ${(error as Error).message}`,
            {
              path: 'refs/heads/main',
            },
          ),
        );
      }
    }
    findings.push(...journal.pending, ...shapeFindings(layout), ...conflictFindings(layout));
    const inFlight = journal.inFlight;
    // The scan thread walked the folders while this thread read the rest (walk.ts), unless it
    // left the walk to this thread.
    const walked = await scan?.walk.then(
      (packed) => (packed === null ? undefined : unpackWalk(packed)),
      () => undefined,
    );
    // --deep reads every file HEAD holds: those need no lstat (nothing trusts their stat data).
    const files = walked ?? walkRecordFolders(layout.dir, deep ? (p) => tree.has(p) : undefined);
    let indexStale = index === undefined || (!fs.existsSync(repo.indexPath) && tree.size > 0);

    // The events of each record, from their rows (what the index folded).
    const targeted = new Map<string, LifecycleEvent[]>();
    for (const row of events?.values() ?? []) {
      const event = JSON.parse(row.payload) as LifecycleEvent;
      const list = targeted.get(event.target);
      if (list === undefined) targeted.set(event.target, [event]);
      else list.push(event);
    }
    const checkedFolds = new Set<string>();
    let done = 0;
    for (const [p, oid] of tree) {
      options.onProgress?.(++done, tree.size, 'checking records');
      const event = isEventPath(p);
      const row = event ? events?.get(p) : rows?.get(p);
      if (rows !== undefined && row === undefined && !inFlight.has(p))
        findings.push(finding('ROW_MISSING', `${p} is committed but has no row`, { path: p }));
      else if (row !== undefined && row.blob_oid !== oid)
        findings.push(
          finding(
            'BLOB_MISMATCH',
            `the row of ${p} holds blob ${row.blob_oid}, HEAD holds ${oid}`,
            {
              path: p,
              id: row.id,
            },
          ),
        );
      const file = files.get(p);
      const indexed = index?.get(p);
      if (indexed?.oid !== oid) indexStale = true;
      if (file === undefined || file.kind !== 'file') {
        // A writer renames its files into place just after main moves: in flight, not missing.
        if (!inFlight.has(p))
          findings.push(
            finding('FILE_MISSING', `${p} is committed but missing`, { path: p, id: row?.id }),
          );
        continue;
      }
      const matched = fileMatches(layout, file, oid, indexed, indexMtime);
      if (matched === undefined) {
        findings.push(await classifyEdit(layout, repo, p, oid));
      } else if (deep && row !== undefined && !event) {
        const record = parseRecord(
          matched === 'stat' ? readSmallFile(path.join(layout.dir, p)) : matched,
        );
        const own = targeted.get(record.id) ?? [];
        const expected = expectedRow(record, p, row.blob_oid, '', '', own);
        let mismatched: string | undefined;
        if (source !== undefined && !source.agrees(p, expected)) {
          const whole = source.full(p);
          mismatched = whole === undefined ? undefined : rowDisagreement(whole, record, own);
        }
        if (mismatched !== undefined)
          findings.push(
            finding(
              own.length === 0 ? 'FIELD_MISMATCH' : 'FOLD_MISMATCH',
              `the row of ${p} disagrees with ${own.length === 0 ? 'the file' : 'the fold of the file and its events'} on ${mismatched}`,
              { path: p, id: row.id },
            ),
          );
        checkedFolds.add(record.id);
      }
    }
    if (source !== undefined)
      findings.push(
        ...(await eventFindings(
          repo,
          layout,
          files,
          source,
          tree,
          targeted,
          checkedFolds,
          inFlight,
        )),
      );
    source?.endLookups();
    options.onProgress?.(tree.size, tree.size, 'checking records');
    // Done with the records before the thread came to integrity_check: it is run here.
    let integrityHere: string | undefined;
    if (threadChecks && source !== undefined && scan?.takeIntegrity() === true) {
      trace('integrity-check on the main thread');
      integrityHere = source.integrity();
    }
    if (source !== undefined) {
      const inline = async (): Promise<HistoryMatch[]> =>
        scanHistory(await source.texts(), source.events.values(), (p, b) => tree.get(p) === b);
      const matched = scan === undefined ? await inline() : await scan.matches.catch(inline);
      findings.push(...(await judgeMatches(repo, matched, tree)));
    }
    if (threadChecks && scan !== undefined && source !== undefined) {
      // The thread's integrity_check (this thread's, should it have come first or the thread
      // have failed). A look
      // that finds index.db unsound is always followed by a second, inline, which reads no
      // rows from it: what the rows said here is not reported.
      const verdict = integrityHere ?? (await scan.integrity.catch(() => source.integrity()));
      if (verdict !== 'ok')
        findings.push(corruptFinding(new SqliteCorruptError(layout.dbFile, new Error(verdict))));
    }

    for (const [p, row] of [...(rows ?? []), ...(events ?? [])])
      if (!tree.has(p) && !inFlight.has(p))
        findings.push(
          finding('ROW_ORPHAN', `a row for ${p} exists but HEAD holds no such record`, {
            path: p,
            id: row.id,
          }),
        );
    for (const [p, file] of files) {
      if (file.kind === 'link') {
        findings.push(linkFinding(layout, p));
        continue;
      }
      if (tree.has(p) || inFlight.has(p)) continue;
      const temp = TEMP_FILE.exec(p);
      if (temp !== null && inFlight.has(p.slice(0, temp.index))) continue;
      findings.push(
        temp !== null
          ? finding('TEMP_FILE', `${p} is the temp file of an interrupted write`, { path: p })
          : finding('FILE_UNTRACKED', `${p} is in a record folder but not committed`, { path: p }),
      );
    }
    for (const p of index?.keys() ?? []) if (isRecordPath(p) && !tree.has(p)) indexStale = true;
    if (indexStale && !fs.existsSync(`${repo.indexPath}.lock`))
      findings.push(
        finding(
          'GIT_INDEX_STALE',
          index === undefined || !fs.existsSync(repo.indexPath)
            ? '.git/index is missing or unreadable'
            : '.git/index does not match HEAD, so `git status` in the store is wrong',
          { path: '.git/index' },
        ),
      );
    if (deep && head !== undefined) {
      const inline = (): Promise<Finding[]> => deepObjects(repo, head, options.onProgress);
      findings.push(...(await (objects === undefined ? inline() : objects.catch(inline))));
    }
    return { head, tree, rows, events, files, inFlight, findings };
  } finally {
    source?.close();
  }
}

/** Every sync conflict a person has not resolved yet. */
function conflictFindings(layout: StoreLayout): Finding[] {
  return new Conflicts(layout.conflictsDir)
    .list()
    .map((note) =>
      finding(
        'SYNC_CONFLICT',
        `conflict ${note.id}: ${note.path} changed here and on ${note.remote}; HEAD holds the remote's ${note.keptBlob === null ? 'removal' : `blob ${note.keptBlob}`}, the local ${note.otherBlob === null ? 'removal' : `blob ${note.otherBlob}`} is in commit ${note.localCommit}`,
        { path: note.path },
      ),
    );
}

/**
 * The committed bytes of `file`: its working copy, a plain file the walk of the record folders
 * found (never through a link), when it still hashes to `oid` (almost always), else the blob
 * read from git. Reading thousands of small files beats as many lookups in packs.
 */
async function committedBytes(
  repo: GitRepository,
  layout: StoreLayout,
  files: ReadonlyMap<string, WorkFile>,
  file: string,
  oid: string,
): Promise<Buffer> {
  if (files.get(file)?.kind === 'file') {
    try {
      const bytes = readSmallFile(path.join(layout.dir, file));
      if (hashObject('blob', bytes) === oid) return bytes;
    } catch {
      // gone or unreadable: git has it
    }
  }
  return repo.objects.readTyped(oid, 'blob');
}

/**
 * Every event's target is a record at HEAD; every record with events has the folded columns
 * a fresh fold gives (records verify --deep compared already are not read twice).
 */
async function eventFindings(
  repo: GitRepository,
  layout: StoreLayout,
  files: ReadonlyMap<string, WorkFile>,
  { rows, events, full }: RowSource,
  tree: ReadonlyMap<string, string>,
  targeted: ReadonlyMap<string, readonly LifecycleEvent[]>,
  checked: ReadonlySet<string>,
  inFlight: ReadonlySet<string>,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const byId = new Map<string, RowRef>();
  for (const row of rows.values()) byId.set(row.id, row);
  for (const row of events.values())
    if (!byId.has(row.target) && tree.has(row.path) && !inFlight.has(row.path))
      findings.push(
        finding(
          'EVENT_TARGET_MISSING',
          `${row.path} (${row.verb}) targets ${row.target}, which is not a record at HEAD`,
          { path: row.path, id: row.id },
        ),
      );
  for (const [target, own] of targeted) {
    const row = byId.get(target);
    if (row === undefined || checked.has(target) || tree.get(row.path) !== row.blob_oid) continue;
    if (inFlight.has(row.path)) continue;
    let record: LessonRecord;
    try {
      record = parseRecord(await committedBytes(repo, layout, files, row.path, row.blob_oid));
    } catch {
      continue; // reported by the file checks
    }
    const whole = full(row.path);
    const mismatched = whole === undefined ? undefined : rowDisagreement(whole, record, own);
    if (mismatched !== undefined)
      findings.push(
        finding(
          'FOLD_MISMATCH',
          `the row of ${row.path} disagrees with the fold of its ${own.length} events on ${mismatched}`,
          { path: row.path, id: row.id },
        ),
      );
  }
  return findings;
}

/** The first column on which a row and its record (folded over its events) disagree. */
export function rowDisagreement(
  row: RecordRow,
  record: LessonRecord,
  events: readonly LifecycleEvent[] = [],
): string | undefined {
  const expected = expectedRow(record, row.path, row.blob_oid, row.txid, row.commit_oid, events);
  for (const [column, value] of Object.entries(expected))
    if (row[column as keyof RecordRow] !== value) return column;
  return undefined;
}

/** The row `record` folded over `events` makes, with the given path, blob, txid and commit. */
function expectedRow(
  record: LessonRecord,
  path: string,
  blob: string,
  txid: string,
  commit: string,
  events: readonly LifecycleEvent[],
): NewRow {
  const plain = rowFromRecord(record, path, blob, txid, commit);
  return events.length === 0 ? plain : foldedRow(plain, foldRecord(record, events));
}
