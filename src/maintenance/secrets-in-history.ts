// verify's look for secrets already committed: every record and lifecycle event in HEAD is
// scanned (from its row, which verify checks against the file, read from index.db as a cursor
// and scanned a few megabytes at a time) with the same rules a writer refuses with. A match a
// person allowed when recording (a Lessons-Allow-Secret trailer on the record's commit) is not
// reported; anything else is SECRET_IN_HISTORY, so a team can see what to rotate.

import type { Database, EventRow, NewRow } from '../db/database.js';
import { readCommit, trailerValues } from '../git/commit.js';
import type { GitRepository } from '../git/repository.js';
import type { LifecycleEvent } from '../record/event.js';
import { eventFields } from '../record/lifecycle.js';
import type { SecretFinding } from '../errors/index.js';
import {
  ruleName,
  rowFields,
  scanFingerprint,
  scanGroups,
  type RowTexts,
} from '../record/secrets.js';
import { trace } from '../util/faults.js';
import { finding, type Finding } from './findings.js';

/** A record's row as the scan reads it: its texts, and what says where they came from. */
export type ScannedRow = RowTexts & Pick<NewRow, 'id' | 'path' | 'blob_oid' | 'commit_oid'>;

/** Rows read per page of texts: each page is a statement of its own, holding no lock after. */
const TEXT_PAGE = 2000;

/** Does index.db keep the writers' scan marks (schema 4 on)? */
function keepsMarks(db: Database['db']): boolean {
  return (
    db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'record_scans'")
      .get() !== undefined
  );
}

/**
 * The scan's fingerprint when index.db keeps marks (schema 4): rows marked with it passed this
 * very scan when their writer stored them, and need none again. Undefined for verify --deep,
 * which scans everything, and for an index without marks.
 */
export async function trustedMarks(db: Database['db'], deep: boolean): Promise<string | undefined> {
  if (deep) return undefined;
  return keepsMarks(db) ? scanFingerprint() : undefined;
}

/**
 * The share of records left to scan (0..1): those without a mark of `marks`, the current
 * rules' fingerprint (trustedMarks); 1 when there is none (an index without marks). The marks
 * of deleted rows go with them (a trigger), so a count of each table says it.
 */
export function unmarkedShare(db: Database['db'], marks: string | undefined): number {
  if (marks === undefined) return 1;
  const total = db.prepare('SELECT count(*) FROM records').pluck().get() as number;
  if (total === 0) return 0;
  const marked = db
    .prepare('SELECT count(*) FROM record_scans WHERE rules = ?')
    .pluck()
    .get(marks) as number;
  return Math.max(0, total - marked) / total;
}

/**
 * Every record's texts, a page at a time (a store's bodies are never held at once), but those
 * of rows marked with `marks`.
 */
export function* textPages(db: Database['db'], marks?: string): Generator<ScannedRow> {
  const page = db.prepare(
    `SELECT rowid, id, path, kind, title, domain, tags, body, source_id, imported_from, blob_oid, commit_oid
       FROM records r WHERE rowid > @after${
         marks === undefined
           ? ''
           : ' AND NOT EXISTS (SELECT 1 FROM record_scans WHERE rowid_ref = r.rowid AND rules = @marks)'
       } ORDER BY rowid LIMIT ${TEXT_PAGE}`,
  );
  let count = 0;
  for (let after = 0; ;) {
    const rows = page.all(marks === undefined ? { after } : { after, marks }) as (ScannedRow & {
      rowid: number;
    })[];
    count += rows.length;
    yield* rows;
    if (rows.length < TEXT_PAGE) break;
    after = rows.at(-1)!.rowid;
  }
  trace(`scan-texts ${count}`);
}

/** Rules a person allowed for record `id` in `commit` (its Lessons-Allow-Secret trailers). */
async function allowedIn(repo: GitRepository, commit: string, id: string): Promise<Set<string>> {
  try {
    const { message } = await readCommit(repo.objects, commit);
    const allowed = new Set<string>();
    for (const value of trailerValues(message, 'Lessons-Allow-Secret')) {
      const [rule, forId] = value.trim().split(/\s+/);
      if (rule !== undefined && (forId === undefined || forId === id)) allowed.add(ruleName(rule));
    }
    return allowed;
  } catch {
    return new Set();
  }
}

/** A row or event whose texts matched a rule, before HEAD and the trailers are consulted. */
export interface HistoryMatch {
  readonly path: string;
  readonly id: string;
  /** The blob the scanned texts came from: the match counts only while HEAD holds it. */
  readonly blob: string;
  readonly commit: string;
  /** An update event's target: the record its text folds into. */
  readonly corrects?: string;
  readonly event: boolean;
  readonly matches: readonly SecretFinding[];
}

interface Scanned extends Omit<HistoryMatch, 'matches'> {
  readonly fields: { field: string; text: string }[];
}

/** Characters of text scanned at a time: the scan holds this much, whatever the store's size. */
const CHUNK_CHARS = 4 << 20;

/**
 * Every event and record whose texts match a secret rule, read as they come (`rows` may be a
 * cursor over index.db) and scanned a few megabytes at a time. `atHead` leaves out what HEAD
 * no longer holds before it is scanned; without it everything is scanned (the scan thread,
 * which has no HEAD) and `judgeMatches` leaves it out afterwards.
 */
export async function scanHistory(
  rows: Iterable<ScannedRow>,
  events: Iterable<EventRow>,
  atHead: (path: string, blob: string) => boolean = () => true,
): Promise<HistoryMatch[]> {
  const matched: HistoryMatch[] = [];
  let chunk: Scanned[] = [];
  let chars = 0;
  const flush = async (): Promise<void> => {
    const scanned = chunk;
    chunk = [];
    chars = 0;
    if (scanned.length === 0) return;
    const found = await scanGroups(scanned.map((s) => s.fields));
    for (const [i, matches] of found.entries()) {
      if (matches.length === 0) continue;
      const { fields: _texts, ...item } = scanned[i]!;
      matched.push({ ...item, matches });
    }
  };
  const add = async (item: Scanned): Promise<void> => {
    chunk.push(item);
    for (const f of item.fields) chars += f.text.length;
    if (chars >= CHUNK_CHARS) await flush();
  };
  for (const row of events) {
    if (!atHead(row.path, row.blob_oid)) continue;
    // Most events (a validation without a note) carry no text at all.
    const fields = eventFields(JSON.parse(row.payload) as LifecycleEvent);
    if (fields.length > 0)
      await add({
        path: row.path,
        id: row.id,
        blob: row.blob_oid,
        commit: row.commit_oid,
        event: true,
        ...(row.verb === 'update' ? { corrects: row.target } : {}),
        fields,
      });
  }
  await flush();
  for (const row of rows)
    if (atHead(row.path, row.blob_oid))
      await add({
        path: row.path,
        id: row.id,
        blob: row.blob_oid,
        commit: row.commit_oid,
        event: false,
        fields: rowFields(row),
      });
  await flush();
  return matched;
}

/**
 * SECRET_IN_HISTORY for each match still at HEAD that no Lessons-Allow-Secret trailer of its
 * commit allows. Events are judged first: what an update allowed is allowed in the record its
 * text folds into (and only that).
 */
export async function judgeMatches(
  repo: GitRepository,
  matched: readonly HistoryMatch[],
  tree: ReadonlyMap<string, string>,
): Promise<Finding[]> {
  const allowedByUpdates = new Map<string, Set<string>>();
  const findings: Finding[] = [];
  const atHead = matched.filter((m) => tree.get(m.path) === m.blob);
  for (const item of [...atHead.filter((m) => m.event), ...atHead.filter((m) => !m.event)]) {
    const allowed = await allowedIn(repo, item.commit, item.id);
    for (const rule of allowedByUpdates.get(item.id) ?? []) allowed.add(rule);
    if (item.corrects !== undefined) {
      const rules = allowedByUpdates.get(item.corrects) ?? new Set<string>();
      for (const m of item.matches) if (allowed.has(m.rule)) rules.add(m.rule);
      allowedByUpdates.set(item.corrects, rules);
    }
    for (const m of item.matches.filter((f) => !allowed.has(f.rule)))
      findings.push(
        finding(
          'SECRET_IN_HISTORY',
          `${item.path}: ${m.kind} (rule ${m.rule}) in ${m.field} line ${m.line}: ${m.masked}`,
          { path: item.path, id: item.id },
        ),
      );
  }
  return findings;
}
