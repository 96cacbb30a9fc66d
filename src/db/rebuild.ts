// Rows rebuilt from git: the SQLite index is derived from HEAD, so it can always be made again.
// Each row's commit is the most recent commit on main that added or changed its file, found
// from the commits' Lessons-Id trailers, and by a tree diff for commits that lack them.

import type { Database, NewEventRow, NewRow } from './database.js';
import { eventRow, foldedRow, rowFromRecord } from './database.js';
import type { LifecycleEvent } from '../record/event.js';
import { foldRecord } from '../record/fold.js';
import { parseItem } from '../record/stored.js';
import type { LessonRecord } from '../record/types.js';
import { readCommit, trailerValues } from '../git/commit.js';
import type { GitRepository } from '../git/repository.js';
import { diffTrees, listTree } from '../git/tree.js';
import type { OnProgress } from '../util/progress.js';
import { readFiles } from './read-thread.js';
import { isRecordPath, RECORD_ROOTS } from '../record/paths.js';
import { isEventPath } from '../record/event.js';

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
  /**
   * Commits already known for paths whose blob is unchanged (from the old rows). Called once
   * the files are being read, so the reading goes on meanwhile.
   */
  readonly known?: () => ReadonlyMap<string, { readonly blob: string; readonly commit: string }>;
  readonly onProgress?: OnProgress | undefined;
}

/** What an index holds: record rows (each folded over its events) and event rows. */
export interface IndexRows {
  readonly rows: NewRow[];
  readonly events: NewEventRow[];
}

/**
 * A record row folded over its own events among `events` (any order); events whose target has
 * no row are orphans.
 */
function folder(events: readonly LifecycleEvent[]): (row: NewRow) => NewRow {
  const byTarget = new Map<string, LifecycleEvent[]>();
  for (const event of events) {
    const list = byTarget.get(event.target);
    if (list === undefined) byTarget.set(event.target, [event]);
    else list.push(event);
  }
  return (row) => {
    const own = byTarget.get(row.id);
    if (own === undefined) return row;
    return foldedRow(row, foldRecord(recordOfRow(row), own));
  };
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

/** What streamTree found besides the record rows it handed on. */
interface TreeRest {
  readonly records: number;
  /** Event rows, in id order. */
  readonly events: NewEventRow[];
  readonly unparseable: Unparseable[];
  /**
   * The commits of rows handed on before history was searched for them (id -> commit), where
   * they are not HEAD.
   */
  readonly lateCommits: Map<string, string>;
}

/** The file name's leading ULID, by which the tool names records and events. */
const nameOrder = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/**
 * Every record and event in `tree`, the record rows folded over their events and handed to
 * `onRows` a chunk at a time as the files are read (read-thread.ts), the rest returned at the
 * end; files that do not parse are reported, not fatal. Events are read first, since a row
 * needs them folded in; records follow in the order of their file names, which begin with
 * their ids, so the rows usually come in id order. A row whose commit is not known is handed
 * on with HEAD's and its own found from history at the end (`lateCommits`).
 */
async function streamTree(
  repo: GitRepository,
  head: string,
  tree: string,
  options: RowsFromTreeOptions,
  onRows: (rows: NewRow[]) => void,
): Promise<TreeRest> {
  const files = await recordFiles(repo, tree);
  const byName = (a: [string, string], b: [string, string]): number => {
    const x = nameOrder(a[0]);
    const y = nameOrder(b[0]);
    return x < y ? -1 : x > y ? 1 : a[0] < b[0] ? -1 : 1;
  };
  const eventFiles = [...files].filter(([path]) => isEventPath(path)).sort(byName);
  const recordList = [...files].filter(([path]) => !isEventPath(path)).sort(byName);
  const order = [...eventFiles, ...recordList];
  const reading = readFiles(repo.workdir, order);
  const known = options.known?.() ?? new Map<string, { blob: string; commit: string }>();

  const unknown = new Map<string, string>();
  const commitOf = (path: string, id: string, blob: string): string => {
    const old = known.get(path);
    if (old !== undefined && old.blob === blob) return old.commit;
    unknown.set(path, id);
    return head;
  };
  const unparseable: Unparseable[] = [];
  const parsedEvents: { event: LifecycleEvent; path: string }[] = [];
  let fold: ((row: NewRow) => NewRow) | undefined;
  let records = 0;
  let done = 0;
  for await (const answers of reading) {
    const rows: NewRow[] = [];
    for (const found of answers) {
      const [path, blob] = order[done++]!;
      let answer = found;
      if ('fromGit' in answer) {
        try {
          answer = { item: parseItem(path, await repo.objects.readTyped(blob, 'blob')) };
        } catch (error) {
          answer = { reason: (error as Error).message };
        }
      }
      if (!('item' in answer)) unparseable.push({ path, reason: answer.reason });
      else if (answer.item.kind === 'event') parsedEvents.push({ event: answer.item, path });
      else {
        fold ??= folder(parsedEvents.map((e) => e.event));
        const { item } = answer;
        rows.push(fold(rowFromRecord(item, path, blob, 'reindex', commitOf(path, item.id, blob))));
      }
    }
    records += rows.length;
    if (rows.length > 0) onRows(rows);
    options.onProgress?.(done, order.length, 'reading records');
  }
  const events = parsedEvents.map(({ event, path }) => ({
    event,
    path,
    commit: commitOf(path, event.id, files.get(path)!),
  }));
  // Only those that differ from the HEAD they were handed on with.
  const lateCommits = new Map<string, string>();
  if (unknown.size > 0)
    for (const [path, commit] of await attributeCommits(repo, head, unknown))
      if (commit !== head) lateCommits.set(unknown.get(path)!, commit);
  return {
    records,
    events: events
      .map(({ event, path, commit }) =>
        eventRow(event, path, files.get(path)!, 'reindex', lateCommits.get(event.id) ?? commit),
      )
      .sort(byId),
    unparseable,
    lateCommits,
  };
}

const byId = (a: { id: string }, b: { id: string }): number =>
  a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

/**
 * Rows for every record and event in `tree`, records folded over their events and in id
 * order; files that do not parse are reported, not fatal.
 */
export async function rowsFromTree(
  repo: GitRepository,
  head: string,
  tree: string,
  options: RowsFromTreeOptions = {},
): Promise<IndexRows & { unparseable: Unparseable[] }> {
  const rows: NewRow[] = [];
  const rest = await streamTree(repo, head, tree, options, (chunk) => rows.push(...chunk));
  const withCommits = rows.map((row) => {
    const commit = rest.lateCommits.get(row.id);
    return commit === undefined ? row : { ...row, commit_oid: commit };
  });
  return { rows: withCommits.sort(byId), events: rest.events, unparseable: rest.unparseable };
}

/**
 * Fill `database`, which holds no records yet and nobody else has open, with every record and
 * event in `tree` (Database.beginFill): the rows are inserted while the files are still being
 * read, and none of them is held longer than its chunk.
 */
export async function fillFromTree(
  database: Database,
  repo: GitRepository,
  head: string,
  tree: string,
  options: RowsFromTreeOptions = {},
): Promise<{ rows: number; events: number; unparseable: Unparseable[] }> {
  const fill = database.beginFill();
  try {
    const rest = await streamTree(repo, head, tree, options, (rows) => {
      for (const row of rows) fill.insert(row);
      fill.catchUp();
    });
    fill.setCommits(rest.lateCommits);
    fill.finish(rest.events);
    return { rows: rest.records, events: rest.events.length, unparseable: rest.unparseable };
  } catch (error) {
    fill.abort();
    throw error;
  }
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
