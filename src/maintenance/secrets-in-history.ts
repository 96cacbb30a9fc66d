// verify's look for secrets already committed: every record and lifecycle event in HEAD is
// scanned (from its row, which verify checks against the file, read from index.db as a cursor
// and scanned a few megabytes at a time) with the same rules a writer refuses with. A match a
// person allowed when recording (a Lessons-Allow-Secret trailer on the record's commit) is not
// reported; anything else is SECRET_IN_HISTORY, so a team can see what to rotate.

import type { EventRow, NewRow } from '../db/database.js';
import { readCommit, trailerValues } from '../git/commit.js';
import type { GitRepository } from '../git/repository.js';
import type { LifecycleEvent } from '../record/event.js';
import { eventFields } from '../record/lifecycle.js';
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

interface Scanned {
  path: string;
  id: string;
  commit: string;
  /** An update event's target: the record its text folds into. */
  corrects?: string;
  fields: { field: string; text: string }[];
}

/** Characters of text scanned at a time: the scan holds this much, whatever the store's size. */
const CHUNK_CHARS = 4 << 20;

/**
 * SECRET_IN_HISTORY for every event and record at HEAD (a row whose blob is HEAD's), read
 * as they come (`rows` may be a cursor over index.db) and scanned a few megabytes at a time.
 */
export async function secretsInHistory(
  repo: GitRepository,
  rows: Iterable<ScannedRow>,
  tree: ReadonlyMap<string, string>,
  events: ReadonlyMap<string, EventRow> = new Map(),
): Promise<Finding[]> {
  // A record's row holds its corrections folded in: a rule an update allowed for a match of its
  // own is allowed in the record's row too (and only such a rule).
  const allowedByUpdates = new Map<string, Set<string>>();
  const findings: Finding[] = [];
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
      const item = scanned[i]!;
      const allowed = await allowedIn(repo, item.commit, item.id);
      for (const rule of allowedByUpdates.get(item.id) ?? []) allowed.add(rule);
      if (item.corrects !== undefined) {
        const rules = allowedByUpdates.get(item.corrects) ?? new Set<string>();
        for (const m of matches) if (allowed.has(m.rule)) rules.add(m.rule);
        allowedByUpdates.set(item.corrects, rules);
      }
      for (const m of matches.filter((f) => !allowed.has(f.rule)))
        findings.push(
          finding(
            'SECRET_IN_HISTORY',
            `${item.path}: ${m.kind} (rule ${m.rule}) in ${m.field} line ${m.line}: ${m.masked}`,
            { path: item.path, id: item.id },
          ),
        );
    }
  };
  const add = async (item: Scanned): Promise<void> => {
    chunk.push(item);
    for (const f of item.fields) chars += f.text.length;
    if (chars >= CHUNK_CHARS) await flush();
  };
  // Events first (all of them): what their matches were allowed is known before the records
  // they fold into.
  for (const row of events.values()) {
    if (tree.get(row.path) !== row.blob_oid) continue;
    // Most events (a validation without a note) carry no text at all.
    const fields = eventFields(JSON.parse(row.payload) as LifecycleEvent);
    if (fields.length > 0)
      await add({
        path: row.path,
        id: row.id,
        commit: row.commit_oid,
        ...(row.verb === 'update' ? { corrects: row.target } : {}),
        fields,
      });
  }
  await flush();
  for (const row of rows)
    if (tree.get(row.path) === row.blob_oid)
      await add({ path: row.path, id: row.id, commit: row.commit_oid, fields: rowFields(row) });
  await flush();
  return findings;
}
