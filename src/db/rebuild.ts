// Rows rebuilt from git: the SQLite index is derived from HEAD, so it can always be made again.
// Each row's commit is the most recent commit on main that added or changed its file, found
// from the commits' Lessons-Id trailers, and by a tree diff for commits that lack them.

import type { Database, NewEventRow, NewRow } from './database.js';
import { eventRow, foldedRow, rowFromRecord } from './database.js';
import type { LifecycleEvent } from '../record/event.js';
import { foldRecord } from '../record/fold.js';
import { parseItem } from '../record/stored.js';
import type { LessonRecord, StoredItem } from '../record/types.js';
import { readCommit, trailerValues } from '../git/commit.js';
import type { GitRepository } from '../git/repository.js';
import { diffTrees, listTree } from '../git/tree.js';
import type { OnProgress } from '../util/progress.js';
import { readOnThread, readWorkingItem, type FileAnswer } from './read-thread.js';
import { isRecordPath, RECORD_ROOTS } from '../record/paths.js';

export interface RecordFile {
  readonly path: string;
  readonly blobOid: string;
}

export interface Unparseable {
  readonly path: string;
  readonly reason: string;
}

/** Every record file in a tree, as path -> blob id. */
export async function recordFiles(repo: GitRepository, tree: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const [path, oid] of await listTree(repo.objects, tree))
    if (isRecordPath(path)) files.set(path, oid);
  return files;
}

/** For each path, the newest commit on main (from `head` back) that added or changed it. */
export async function attributeCommits(
  repo: GitRepository,
  head: string,
  paths: ReadonlyMap<string, string>,
): Promise<Map<string, string>> {
  const byId = new Map<string, string>();
  for (const [path, id] of paths) byId.set(id, path);
  const found = new Map<string, string>();
  // A shallow clone (CI checks out one commit) ends at commits whose parents it has not:
  // records older than the clone are attributed to its oldest commit.
  const shallow = repo.shallowCommits();
  let oid: string | undefined = head;
  while (oid !== undefined && found.size < paths.size) {
    const commit = await readCommit(repo.objects, oid);
    if (shallow.has(oid)) {
      for (const path of paths.keys()) if (!found.has(path)) found.set(path, oid);
      break;
    }
    const ids = trailerValues(commit.message, 'Lessons-Id');
    const complete =
      trailerValues(commit.message, 'Lessons-Txid').length > 0 &&
      trailerValues(commit.message, 'Lessons-Count').length === 0;
    if (complete) {
      for (const id of ids) {
        const path = byId.get(id);
        if (path !== undefined && !found.has(path)) found.set(path, oid);
      }
    } else {
      const parent =
        commit.parents[0] === undefined
          ? undefined
          : (await readCommit(repo.objects, commit.parents[0])).tree;
      const changed = await diffTrees(repo.objects, commit.tree, parent, (name) =>
        (RECORD_ROOTS as readonly string[]).includes(name),
      );
      for (const path of changed) if (paths.has(path) && !found.has(path)) found.set(path, oid);
    }
    oid = commit.parents[0];
  }
  for (const path of paths.keys()) if (!found.has(path)) found.set(path, head);
  return found;
}

export interface RowsFromTreeOptions {
  /** Commits already known for paths whose blob is unchanged (from the old rows). */
  readonly known?: ReadonlyMap<string, { readonly blob: string; readonly commit: string }>;
  readonly onProgress?: OnProgress | undefined;
}

/** What an index holds: record rows (each folded over its events) and event rows. */
export interface IndexRows {
  readonly rows: NewRow[];
  readonly events: NewEventRow[];
}

/** Record rows folded over `events` (any order); events whose target has no row are orphans. */
export function foldRows(rows: readonly NewRow[], events: readonly LifecycleEvent[]): NewRow[] {
  const byTarget = new Map<string, LifecycleEvent[]>();
  for (const event of events) {
    const list = byTarget.get(event.target);
    if (list === undefined) byTarget.set(event.target, [event]);
    else list.push(event);
  }
  return rows.map((row) => {
    const own = byTarget.get(row.id);
    if (own === undefined) return row;
    return foldedRow(row, foldRecord(recordOfRow(row), own));
  });
}

/** The record a freshly built row (not yet folded) was made from. */
function recordOfRow(row: NewRow): LessonRecord {
  const common = {
    id: row.id,
    title: row.title,
    domain: row.domain,
    tags: JSON.parse(row.tags) as string[],
    created: row.created,
    body: row.body,
  };
  return row.kind === 'failure'
    ? { kind: 'failure', ...common, severity: row.severity! }
    : {
        kind: 'heuristic',
        ...common,
        source: row.source as 'observation',
        confidence: row.confidence!,
        ...(row.source_id === null ? {} : { sourceId: row.source_id }),
      };
}

/**
 * Rows for every record and event in `tree`, records folded over their events; files that do
 * not parse are reported, not fatal.
 */
export async function rowsFromTree(
  repo: GitRepository,
  head: string,
  tree: string,
  options: RowsFromTreeOptions = {},
): Promise<IndexRows & { unparseable: Unparseable[] }> {
  const files = await recordFiles(repo, tree);
  const entries = [...files];
  // The second half on a thread (read-thread.ts), when there are enough, the first half here.
  const half = Math.ceil(entries.length / 2);
  const onThread = readOnThread(
    { workdir: repo.workdir, files: entries.slice(half) },
    entries.length,
  );
  const answers: FileAnswer[] = [];
  const progress = (): void => {
    if (answers.length % 128 === 0 || answers.length === entries.length)
      options.onProgress?.(answers.length, entries.length, 'reading records');
  };
  for (const [path, oid] of onThread === undefined ? entries : entries.slice(0, half)) {
    answers.push(readWorkingItem(repo.workdir, path, oid));
    progress();
  }
  if (onThread !== undefined) {
    const rest = await onThread.catch(() => undefined);
    for (let i = half; i < entries.length; i++) {
      const [path, oid] = entries[i]!;
      answers.push(rest?.[i - half] ?? readWorkingItem(repo.workdir, path, oid));
      progress();
    }
  }
  const parsed = new Map<string, StoredItem>();
  const unparseable: Unparseable[] = [];
  for (const [i, [path, oid]] of entries.entries()) {
    let answer = answers[i]!;
    if ('fromGit' in answer) {
      try {
        answer = { item: parseItem(path, await repo.objects.readTyped(oid, 'blob')) };
      } catch (error) {
        answer = { reason: (error as Error).message };
      }
    }
    if ('item' in answer) parsed.set(path, answer.item);
    else unparseable.push({ path, reason: answer.reason });
  }
  const commits = new Map<string, string>();
  const unknown = new Map<string, string>();
  for (const [path, record] of parsed) {
    const known = options.known?.get(path);
    if (known !== undefined && known.blob === files.get(path)) commits.set(path, known.commit);
    else unknown.set(path, record.id);
  }
  if (unknown.size > 0)
    for (const [path, commit] of await attributeCommits(repo, head, unknown))
      commits.set(path, commit);
  const rows: NewRow[] = [];
  const events: NewEventRow[] = [];
  const parsedEvents: LifecycleEvent[] = [];
  for (const [path, item] of parsed) {
    if (item.kind === 'event') {
      parsedEvents.push(item);
      events.push(eventRow(item, path, files.get(path)!, 'reindex', commits.get(path)!));
    } else rows.push(rowFromRecord(item, path, files.get(path)!, 'reindex', commits.get(path)!));
  }
  const byId = (a: { id: string }, b: { id: string }): number =>
    a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  rows.sort(byId);
  events.sort(byId);
  return { rows: foldRows(rows, parsedEvents), events, unparseable };
}

/** Insert every row and event row (the caller holds a transaction). */
export function insertRows(db: Database, content: IndexRows): void {
  db.insertMany(content.rows);
  for (const event of content.events) db.insertEvent(event);
}

/** Replace every row with rows rebuilt from `tree`, in one SQLite transaction. */
export async function rebuildRows(
  db: Database,
  repo: GitRepository,
  tree: string,
): Promise<{ rows: number; unparseable: Unparseable[] }> {
  const head = repo.head()!;
  const { rows, events, unparseable } = await rowsFromTree(repo, head, tree);
  db.begin();
  try {
    db.db.exec('DELETE FROM records');
    db.db.exec('DELETE FROM events');
    insertRows(db, { rows, events });
    db.commit();
  } catch (error) {
    db.rollback();
    throw error;
  }
  return { rows: rows.length, unparseable };
}
