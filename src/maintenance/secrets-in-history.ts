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
import { ruleName, scanGroups } from '../record/secrets.js';
import { finding, type Finding } from './findings.js';

/** The columns of a row that hold text a person wrote. */
export type RowTexts = Pick<
  NewRow,
  'kind' | 'title' | 'domain' | 'tags' | 'body' | 'source_id' | 'imported_from'
>;

/** A record's row as the scan reads it: its texts, and what says where they came from. */
export type ScannedRow = RowTexts & Pick<NewRow, 'id' | 'path' | 'blob_oid' | 'commit_oid'>;

/** The text fields of a row, by the names a person gives them. */
export function rowFields(row: RowTexts): { field: string; text: string }[] {
  const fields = [
    { field: row.kind === 'heuristic' ? 'rule' : 'title', text: row.title },
    { field: 'domain', text: row.domain },
    { field: 'tags', text: (JSON.parse(row.tags) as string[]).join(',') },
    { field: 'body', text: row.body },
  ];
  if (row.source_id !== null) fields.push({ field: 'sourceId', text: row.source_id });
  if (row.imported_from !== null) fields.push({ field: 'importedFrom', text: row.imported_from });
  return fields;
}

/** Rows read per page of texts: each page is a statement of its own, holding no lock after. */
const TEXT_PAGE = 2000;

/** Every record's texts, a page at a time: a store's bodies are never held at once. */
export function* textPages(db: Database['db']): Generator<ScannedRow> {
  const page = db.prepare(
    `SELECT rowid, id, path, kind, title, domain, tags, body, source_id, imported_from, blob_oid, commit_oid
       FROM records WHERE rowid > ? ORDER BY rowid LIMIT ${TEXT_PAGE}`,
  );
  for (let after = 0; ;) {
    const rows = page.all(after) as (ScannedRow & { rowid: number })[];
    yield* rows;
    if (rows.length < TEXT_PAGE) return;
    after = rows.at(-1)!.rowid;
  }
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
