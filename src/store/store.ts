// The public face of a store: open it, record failures and heuristics (alone or many in one
// transaction), read them back, keep the store honest, close. Each method validates its input
// and delegates: writes to the Writer (txn/), reads to the query layer, maintenance to
// maintenance/.

import fs from 'node:fs';
import path from 'node:path';
import { InvalidInputError, StoreError } from '../errors/index.js';
import { cleanupStore, type CleanupOptions, type CleanupReport } from '../maintenance/cleanup.js';
import { reindexStore, type ReindexResult } from '../maintenance/reindex.js';
import {
  requireStore,
  verifyStore,
  type VerifyOptions,
  type VerifyReport,
} from '../maintenance/verify.js';
import type { ConflictNote } from '../resources/conflicts.js';
import {
  listConflicts,
  resolveConflicts,
  syncStore,
  type SyncOptions,
  type SyncReport,
} from '../sync/sync.js';
import { remoteFindings, remoteStatus, type RemoteStatus } from '../sync/status.js';
import { buildContext, type ContextDigest, type ContextOptions } from '../query/context.js';
import type {
  GoldenOptions,
  ListOptions,
  Reader,
  RecordView,
  SearchHit,
  SearchOptions,
} from '../query/reader.js';
import { prepareEvent, type LifecycleEvent } from '../record/event.js';
import {
  evidenceEvent,
  importEvents,
  refuseEventSecrets,
  requireHeuristic,
  retireEvent,
  updateEvent,
  verdictEvent,
  type EvidenceInput,
  type ImportedLifecycle,
  type RetireInput,
  type UpdateInput,
} from '../record/lifecycle.js';
import { domainCounts, storeStats, type StoreStats } from '../query/stats.js';
import { recordPath } from '../record/paths.js';
import { prepareInputs } from '../record/prepare.js';
import type {
  FailureInput,
  HeuristicInput,
  RecordInput,
  RecordResult,
  RenderedRecord,
} from '../record/types.js';
import {
  layoutFor,
  recordFolderTarget,
  resolveStoreDir,
  type StoreLayout,
} from '../resources/layout.js';
import type { RecoveryReport } from '../txn/recovery.js';
import { namesSources, refuseSourcesOfEmptyStore, resolveSources } from '../txn/sources.js';
import { Writer } from '../txn/writer.js';
import { runTransaction } from '../txn/coordinator.js';
import { isDirectory } from '../util/durable.js';
import type { OnProgress } from '../util/progress.js';
import { ReaderHandle } from './readers.js';

export interface StoreVerifyOptions extends VerifyOptions {
  /** Also compare with this remote's main (fetched first). */
  readonly remote?: string | undefined;
}

export interface StoreVerifyReport extends VerifyReport {
  /** With `remote`: how the store and the remote's main compare. */
  readonly remote?: RemoteStatus;
}

export type { CleanupOptions, CleanupReport };

/** What a lifecycle change reports: the event stored, and the record's state after it. */
export interface LifecycleResult {
  readonly ok: true;
  /** The event's ULID. */
  readonly id: string;
  readonly rowid: number;
  readonly kind: 'event';
  readonly verb: LifecycleEvent['verb'];
  /** The record changed. */
  readonly target: string;
  /** The event's file. */
  readonly path: string;
  readonly commit: string;
  /** The record as the index now holds it (the fold of its events). */
  readonly record: RecordView;
}

export interface OpenStoreOptions {
  /** The store directory. @default $LESSONS_DIR, else ./memory */
  readonly dir?: string | undefined;
  /** How long a writer waits for the store before LOCK_TIMEOUT. @default 60000 */
  readonly lockTimeoutMs?: number | undefined;
  /** A lock or journal entry from another host is presumed abandoned after this long. @default 10000 */
  readonly staleMs?: number | undefined;
  /** The clock, for tests that pin time. @default () => new Date() */
  readonly now?: (() => Date) | undefined;
  /**
   * When this store leads a group commit (it holds the writers' lock while other processes
   * wait to hand it their records), its caller has its outcome as soon as its own records are
   * stored, and the store goes on committing for the others in the background, up to 2 s;
   * `close()` waits for that. For long-lived processes that record often. This process's event
   * loop must stay free meanwhile: one that blocks it (say, `execFileSync` of another writer of
   * the same store) holds the lock as long, and that writer waits for it.
   * @default false: the caller has its outcome once the store has stopped serving
   */
  readonly serveInBackground?: boolean | undefined;
}

export interface RecordManyOptions {
  /** Commit subject for the transaction. @default "lessons: record <n> records" */
  readonly subject?: string;
  /** Progress of a large transaction, phase by phase (preparing, files, rows, git). */
  readonly onProgress?: OnProgress | undefined;
  /**
   * Per input (same order), the lifecycle another tool kept for it: stored as events in the
   * same transaction, so the record folds to that state (an import). @default none
   */
  readonly lifecycle?: readonly (ImportedLifecycle | undefined)[] | undefined;
}

export class Store {
  readonly dir: string;
  readonly layout: StoreLayout;
  private readonly writer: Writer;
  private readonly readers: ReaderHandle;

  constructor(options: OpenStoreOptions = {}) {
    if (options.lockTimeoutMs !== undefined && !(options.lockTimeoutMs >= 0)) {
      throw new InvalidInputError(
        'lockTimeout',
        `${String(options.lockTimeoutMs)} is not a duration`,
        'Pass a number of milliseconds >= 0.',
      );
    }
    this.dir = resolveStoreDir(options.dir);
    this.layout = layoutFor(this.dir);
    this.writer = new Writer(this.layout, options);
    this.readers = new ReaderHandle(this.dir, this.layout);
  }

  async recordFailure(input: FailureInput): Promise<RecordResult> {
    const [result] = await this.record([{ kind: 'failure', ...input }], false);
    return result!;
  }

  async recordHeuristic(input: HeuristicInput): Promise<RecordResult> {
    const [result] = await this.record([{ kind: 'heuristic', ...input }], false);
    return result!;
  }

  /** Record many lessons as one transaction and one commit: all of them, or none. */
  async recordMany(
    inputs: readonly RecordInput[],
    options: RecordManyOptions = {},
  ): Promise<RecordResult[]> {
    if (inputs.length === 0) return [];
    return this.record(inputs, true, options.subject, options.onProgress, options.lifecycle);
  }

  /** Validate, scan for secrets and render (no I/O: a refusal touches nothing), then commit. */
  private async record(
    inputs: readonly RecordInput[],
    many: boolean,
    subject?: string,
    onProgress?: OnProgress,
    lifecycle?: readonly (ImportedLifecycle | undefined)[],
  ): Promise<RecordResult[]> {
    const { records, render } = await prepareInputs(inputs, {
      now: this.writer.now(),
      many,
      onProgress,
    });
    // Refuse a record folder that is a link before anything is created (again under the lock).
    // (A store path that is not a folder is the writer's to report.)
    const verified = new Set<string>();
    if (isDirectory(this.layout.dir))
      for (const record of records) recordFolderTarget(this.layout, recordPath(record), verified);
    const done = (rendered: number): void => onProgress?.(rendered, rendered, 'preparing');
    // Imported lifecycles ride in the same transaction, after every record; only records are
    // reported back.
    const now = this.writer.now();
    const withEvents = (rendered: RenderedRecord[]): RenderedRecord[] =>
      lifecycle === undefined
        ? rendered
        : [
            ...rendered,
            ...rendered.flatMap((r, i) =>
              lifecycle[i] === undefined || r.record.kind === 'event'
                ? []
                : importEvents(r.record, lifecycle[i], now).map(prepareEvent),
            ),
          ];
    const count = records.length;
    if (!namesSources(records)) {
      const rendered = records.map(render);
      done(rendered.length);
      const [results] = await this.writer.commit([{ records: withEvents(rendered), subject }], {
        onProgress,
      });
      return results!.slice(0, count);
    }
    refuseSourcesOfEmptyStore(this.layout, records);
    return this.writer.run(async (ctx) => {
      const rendered = resolveSources(ctx, records).map(render);
      done(rendered.length);
      const [results] = await runTransaction(ctx, [{ records: withEvents(rendered), subject }], {
        now,
        onProgress,
      });
      return results!.slice(0, count);
    });
  }

  /** A heuristic held: one validation (or `count`). */
  async validate(ref: string, input: EvidenceInput = {}): Promise<LifecycleResult> {
    const target = await this.heuristic('validate', ref);
    return this.change(target, evidenceEvent('validate', target.id, input, this.writer.now()));
  }

  /** Following (or ignoring) a heuristic went wrong; `failure` names the failure it caused. */
  async violate(
    ref: string,
    input: EvidenceInput & { readonly failure?: string | undefined } = {},
  ): Promise<LifecycleResult> {
    const target = await this.heuristic('violate', ref);
    let failure: string | undefined;
    if (input.failure !== undefined) {
      const linked = await this.get(input.failure);
      if (linked.kind !== 'failure')
        throw new InvalidInputError(
          'failure',
          `${JSON.stringify(input.failure)} is a ${linked.kind}, not a failure`,
          'Pass the id of a recorded failure (`lessons list --kind failure`).',
        );
      failure = linked.id;
    }
    return this.change(
      target,
      evidenceEvent('violate', target.id, { ...input, failure }, this.writer.now()),
    );
  }

  /** Make a heuristic golden by hand, whatever the formula says, until a later demote. */
  async promote(ref: string): Promise<LifecycleResult> {
    const target = await this.heuristic('promote', ref);
    return this.change(target, verdictEvent('promote', target.id, this.writer.now()));
  }

  /** Take golden away by hand, whatever the formula says, until a later promote. */
  async demote(ref: string): Promise<LifecycleResult> {
    const target = await this.heuristic('demote', ref);
    return this.change(target, verdictEvent('demote', target.id, this.writer.now()));
  }

  /** Correct a record: validated and scanned for secrets as recording is. */
  async update(ref: string, input: UpdateInput): Promise<LifecycleResult> {
    const target = await this.target(ref);
    const event = updateEvent(target.id, target.kind, input, this.writer.now());
    return this.change(target, event, input.allowSecrets);
  }

  /** Retire a record: kept in history and `show`, out of context, golden and default lists. */
  async retire(
    ref: string,
    input: RetireInput & { readonly supersededBy?: string | undefined } = {},
  ): Promise<LifecycleResult> {
    const target = await this.target(ref);
    const successor =
      input.supersededBy === undefined ? undefined : (await this.get(input.supersededBy)).id;
    if (successor === target.id)
      throw new InvalidInputError(
        'supersededBy',
        'names the record being retired',
        'Pass the record that replaces it, or leave --superseded-by out.',
      );
    return this.change(
      target,
      retireEvent(target.id, { ...input, supersededBy: successor }, this.writer.now()),
    );
  }

  /** The golden rules, the most confident first; retired records never are. */
  golden(options: GoldenOptions = {}): Promise<RecordView[]> {
    return this.read((reader) => reader.golden(options));
  }

  /**
   * The record a change names. A change is a write: an index of an older schema, which readers
   * refuse, is first migrated by a writer's session (under the lock), as a record would do.
   */
  private async target(ref: string): Promise<RecordView> {
    try {
      return await this.get(ref);
    } catch (error) {
      if (!(error instanceof StoreError && error.code === 'SCHEMA_OLD')) throw error;
      await this.writer.run(async () => undefined);
      return this.get(ref);
    }
  }

  private async heuristic(verb: LifecycleEvent['verb'], ref: string): Promise<RecordView> {
    const target = await this.target(ref);
    requireHeuristic(verb, target.kind, ref);
    return target;
  }

  /**
   * Store one event as a transaction of its own (file, row and re-folded target, commit),
   * through the same writer as a record; then read the record's new state.
   */
  private async change(
    target: RecordView,
    event: LifecycleEvent,
    allowSecrets?: readonly string[],
  ): Promise<LifecycleResult> {
    const allowed = await refuseEventSecrets(event, allowSecrets);
    const rendered = {
      ...prepareEvent(event),
      ...(allowed.length === 0 ? {} : { allowedSecrets: allowed }),
    };
    const [results] = await this.writer.commit([
      { records: [rendered], subject: `${event.verb}: ${target.title}` },
    ]);
    const result = results![0]!;
    return {
      ok: true,
      id: result.id,
      rowid: result.rowid,
      kind: 'event',
      verb: event.verb,
      target: target.id,
      path: result.path,
      commit: result.commit,
      record: await this.get(target.id),
    };
  }

  /**
   * Finish or undo transactions left by crashed writers. A directory that is not a store yet
   * has nothing to recover and is left untouched.
   */
  async recover(): Promise<RecoveryReport> {
    if (!fs.existsSync(path.join(this.layout.gitdir, 'HEAD'))) return { actions: [] };
    return this.writer.run(async (_ctx, recovery) => recovery);
  }

  /** Committed records, newest first unless sorted otherwise. Never waits on writers. */
  list(options: ListOptions = {}): Promise<RecordView[]> {
    return this.read((reader) => reader.list(options));
  }

  /** One record by ULID, unique ULID prefix, rowid or path (NOT_FOUND, AMBIGUOUS_ID). */
  get(ref: string): Promise<RecordView> {
    return this.read((reader) => reader.get(ref));
  }

  /** Full-text search, best match first. Plain words unless `raw`. */
  search(text: string, options: SearchOptions = {}): Promise<SearchHit[]> {
    return this.read((reader) => reader.search(text, options));
  }

  /** A Markdown digest for an agent, within a token budget. */
  context(options: ContextOptions = {}): Promise<ContextDigest> {
    return this.read((reader) => buildContext(reader, options));
  }

  stats(): Promise<StoreStats> {
    return this.read((reader) => storeStats(reader));
  }

  /** Each domain with its number of records, the busiest first. */
  domains(): Promise<{ domain: string; records: number }[]> {
    return this.read((reader) => domainCounts(reader));
  }

  /**
   * One page of `list` with the total it was cut from, and the shortest unique prefix of each
   * id (for people: `show` accepts it).
   */
  listPage(
    options: ListOptions = {},
  ): Promise<{ records: RecordView[]; total: number; shortIds: Map<string, string> }> {
    return this.read((reader) => {
      const records = reader.list(options);
      return {
        records,
        total: reader.listTotal(options),
        shortIds: reader.shortIds(records.map((r) => r.id)),
      };
    });
  }

  /** Search hits with the shortest unique prefix of each hit's id. */
  searchWithShortIds(
    text: string,
    options: SearchOptions = {},
  ): Promise<{ hits: SearchHit[]; shortIds: Map<string, string> }> {
    return this.read((reader) => {
      const hits = reader.search(text, options);
      return { hits, shortIds: reader.shortIds(hits.map((h) => h.record.id)) };
    });
  }

  /** Distinct ids, domains and tags in the index, for shell completion. */
  completionWords(): Promise<{ ids: string[]; domains: string[]; tags: string[] }> {
    return this.read((reader) => ({
      ids: reader
        .scalar<{ id: string }>('SELECT id FROM records ORDER BY created DESC LIMIT 200')
        .map((r) => r.id),
      domains: reader
        .scalar<{ domain: string }>('SELECT DISTINCT domain FROM records ORDER BY domain')
        .map((r) => r.domain),
      tags: reader
        .scalar<{ tag: string }>('SELECT DISTINCT tag FROM record_tags ORDER BY tag')
        .map((r) => r.tag),
    }));
  }

  /** `<from>:<key>` of every imported record (imported_from.keys), for idempotent imports. */
  async importedKeys(): Promise<Set<string>> {
    const keys = new Set<string>();
    if (!fs.existsSync(path.join(this.layout.gitdir, 'HEAD'))) return keys;
    return this.read((reader) => {
      for (const { imported_from } of reader.scalar<{ imported_from: string }>(
        'SELECT imported_from FROM records WHERE imported_from IS NOT NULL',
      )) {
        const origin = JSON.parse(imported_from) as { from?: unknown; keys?: unknown };
        if (Array.isArray(origin.keys))
          for (const key of origin.keys) keys.add(`${String(origin.from)}:${String(key)}`);
      }
      return keys;
    });
  }

  private read<T>(fn: (reader: Reader) => T | Promise<T>): Promise<T> {
    return this.readers.acquire(fn);
  }

  /**
   * Check the three stores agree, record by record. Read-only; never waits on writers. With
   * `remote`, also fetch that remote and report how far the store is ahead and behind, and
   * every file a sync would bring in that would not parse (docs/sync.md).
   */
  async verify(options: StoreVerifyOptions = {}): Promise<StoreVerifyReport> {
    const report = await verifyStore(this.dir, {
      ...options,
      staleMs: options.staleMs ?? this.writer.staleMs,
    });
    if (options.remote === undefined) return report;
    const remote = await remoteStatus(this.dir, this.writer.layout.gitdir, options.remote);
    const findings = [...report.findings, ...remoteFindings(remote)];
    return { ...report, ok: findings.length === 0, findings, remote };
  }

  /**
   * Reconcile the store to HEAD (see docs/operations.md). With `dryRun`, only report the plan:
   * no lock, no recovery, nothing changed.
   */
  cleanup(options: CleanupOptions = {}): Promise<CleanupReport> {
    return cleanupStore(this.writer, options);
  }

  /** Rebuild index.db from HEAD; the old file stays until the new one is complete. */
  reindex(options: { onProgress?: OnProgress | undefined } = {}): Promise<ReindexResult> {
    return reindexStore(this.writer, options);
  }

  /**
   * Fetch the remote's main, integrate it (fast-forward or a merge commit, one journaled
   * transaction under the writers' lock) and push, retrying while the remote moves.
   */
  sync(options: SyncOptions = {}): Promise<SyncReport> {
    requireStore(this.dir);
    return syncStore(this.writer, options);
  }

  /** Sync conflicts a person has not resolved yet. */
  conflicts(): ConflictNote[] {
    return listConflicts(this.writer);
  }

  /** Mark a sync conflict (by id or path, or "all") resolved: its note goes. */
  resolveConflict(id: string): Promise<ConflictNote[]> {
    requireStore(this.dir);
    return resolveConflicts(this.writer, id);
  }

  async close(): Promise<void> {
    await this.writer.close();
    this.readers.close();
  }
}

/** Open a store. Nothing is created until the first write. */
export async function openStore(options: OpenStoreOptions = {}): Promise<Store> {
  return new Store(options);
}
