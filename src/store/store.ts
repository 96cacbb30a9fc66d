// The public face of a store: open it, record failures and heuristics (alone or many in one
// transaction), recover, close. Writes are queued within the process and serialised across
// processes by the writers' lock.

import fs from 'node:fs';
import path from 'node:path';
import { InvalidInputError, UsageError } from '../errors/index.js';
import { prepareRecord } from '../record/markdown.js';
import type {
  FailureInput,
  HeuristicInput,
  HeuristicRecord,
  LessonRecord,
  RecordInput,
  RecordResult,
  RenderedRecord,
} from '../record/types.js';
import { refuseSecrets } from '../record/secrets.js';
import { validateRecord } from '../record/validate.js';
import { runTransaction } from '../txn/coordinator.js';
import type { RecoveryAction, RecoveryReport } from '../txn/recovery.js';
import { GitRepository } from '../git/repository.js';
import {
  DEFAULT_GRACE_MS,
  deferredPaths,
  executeCleanup,
  planCleanup,
  type CleanupAction,
} from '../maintenance/cleanup.js';
import type { Finding } from '../maintenance/findings.js';
import { Quarantine } from '../resources/quarantine.js';
import {
  databaseProblem,
  quarantineDatabase,
  reindexDatabase,
  type ReindexResult,
} from '../maintenance/reindex.js';
import {
  requireStore,
  surveyStore,
  verifyStore,
  type VerifyOptions,
  type VerifyReport,
} from '../maintenance/verify.js';
import { currentIdentity } from '../resources/owner.js';
import { buildContext, type ContextDigest, type ContextOptions } from '../query/context.js';
import {
  Reader,
  type ListOptions,
  type RecordView,
  type SearchHit,
  type SearchOptions,
} from '../query/reader.js';
import { domainCounts, storeStats, type StoreStats } from '../query/stats.js';
import type { WriteContext } from '../participants/types.js';
import {
  layoutFor,
  prepareStoreDir,
  recordTarget,
  resolveStoreDir,
  type StoreLayout,
} from '../resources/layout.js';
import { refuseUnusableStore } from '../resources/preflight.js';
import { isDirectory } from '../util/durable.js';
import type { OnProgress } from '../util/progress.js';
import { DEFAULT_LOCK_TIMEOUT_MS, withWritersLock, type HeldLock } from '../resources/lock.js';
import { ReaderHandle } from './readers.js';
import { DatabaseHandle, GitBusy, gitBusyTimeout, openSession } from '../txn/session.js';
import { recordPath } from '../record/paths.js';

export interface OpenStoreOptions {
  /** The store directory. @default $LESSONS_DIR, else ./memory */
  readonly dir?: string | undefined;
  /** How long a writer waits for the store before LOCK_TIMEOUT. @default 60000 */
  readonly lockTimeoutMs?: number | undefined;
  /** A lock or journal entry from another host is presumed abandoned after this long. @default 10000 */
  readonly staleMs?: number | undefined;
  /** The clock, for tests that pin time. @default () => new Date() */
  readonly now?: (() => Date) | undefined;
}

export interface RecordManyOptions {
  /** Commit subject for the transaction. @default "lessons: record <n> records" */
  readonly subject?: string;
  /** Progress of a large transaction, phase by phase (preparing, files, rows, git). */
  readonly onProgress?: OnProgress | undefined;
}

export interface CleanupOptions {
  readonly dryRun?: boolean | undefined;
  /** Untracked files younger than this are left alone. @default 10 minutes */
  readonly graceMs?: number | undefined;
  /** Also re-hash every object (and repair blobs whose files are intact). */
  readonly deep?: boolean | undefined;
  readonly onProgress?: OnProgress | undefined;
}

export interface CleanupReport {
  /** The store is clean afterwards (files deferred by the grace period aside). */
  readonly ok: boolean;
  readonly dryRun: boolean;
  readonly recovered: readonly RecoveryAction[];
  /** What was done (or, with dryRun, what would be). */
  readonly actions: readonly CleanupAction[];
  /** Findings left that cleanup could not repair (with dryRun: every finding). */
  readonly remaining: readonly Finding[];
  /** The quarantine folder of this run, relative to the store, when something was moved. */
  readonly quarantine: string | null;
}

export class Store {
  readonly dir: string;
  readonly layout: StoreLayout;
  private readonly lockTimeoutMs: number;
  private readonly staleMs: number | undefined;
  private readonly now: () => Date;
  private readonly db = new DatabaseHandle();
  private readonly readers: ReaderHandle;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(options: OpenStoreOptions = {}) {
    this.dir = resolveStoreDir(options.dir);
    this.layout = layoutFor(this.dir);
    this.lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    this.staleMs = options.staleMs;
    this.now = options.now ?? (() => new Date());
    this.readers = new ReaderHandle(this.dir, this.layout);
    if (!(this.lockTimeoutMs >= 0)) {
      throw new InvalidInputError(
        'lockTimeout',
        `${String(options.lockTimeoutMs)} is not a duration`,
        'Pass a number of milliseconds >= 0.',
      );
    }
  }

  async recordFailure(input: FailureInput): Promise<RecordResult> {
    const [result] = await this.recordInputs([{ kind: 'failure', ...input }], false);
    return result!;
  }

  async recordHeuristic(input: HeuristicInput): Promise<RecordResult> {
    const [result] = await this.recordInputs([{ kind: 'heuristic', ...input }], false);
    return result!;
  }

  /** Record many lessons as one transaction and one commit: all of them, or none. */
  async recordMany(
    inputs: readonly RecordInput[],
    options: RecordManyOptions = {},
  ): Promise<RecordResult[]> {
    if (inputs.length === 0) return [];
    return this.recordInputs(inputs, true, options.subject, options.onProgress);
  }

  /** Validate, scan for secrets and render (no I/O: a refusal touches nothing), then commit. */
  private async recordInputs(
    inputs: readonly RecordInput[],
    many: boolean,
    subject?: string,
    onProgress?: OnProgress,
  ): Promise<RecordResult[]> {
    const now = this.now();
    const records = inputs.map((input, i) => {
      try {
        return validateRecord(input, now);
      } catch (error) {
        throw error instanceof InvalidInputError && many ? error.within(`records[${i}]`) : error;
      }
    });
    // Secrets are refused before anything is written, even before the store exists.
    const allowed = await refuseSecrets(inputs, many);
    const render = (record: LessonRecord, i: number): RenderedRecord => {
      onProgress?.(i, records.length, 'preparing');
      const pinned = inputs[i]!.created !== undefined || inputs[i]!.importedFrom !== undefined;
      return {
        ...prepareRecord(record),
        ...(allowed[i]!.length === 0 ? {} : { allowedSecrets: allowed[i]! }),
        ...(pinned ? { pinnedDate: true } : {}),
      };
    };
    // Refuse a record folder that is a link before anything is created (again under the lock).
    // (A store path that is not a folder is prepareStoreDir's to report.)
    const verified = new Set<string>();
    if (isDirectory(this.layout.dir))
      for (const record of records) recordTarget(this.layout, recordPath(record), verified);
    if (records.some((r) => r.kind === 'heuristic' && r.sourceId !== undefined))
      return this.commitResolved(records, render, subject, onProgress);
    const rendered = records.map(render);
    onProgress?.(records.length, records.length, 'preparing');
    return this.withSession((ctx) => runTransaction(ctx, rendered, now, subject, onProgress));
  }

  /**
   * Finish or undo transactions left by crashed writers. A directory that is not a store yet
   * has nothing to recover and is left untouched.
   */
  async recover(): Promise<RecoveryReport> {
    if (!fs.existsSync(path.join(this.layout.gitdir, 'HEAD'))) return { actions: [] };
    return this.withSession(async (_ctx, recovery) => recovery);
  }

  /** Run `fn` holding the writers' lock in an open, recovered session. */
  async withSession<T>(
    fn: (ctx: WriteContext, recovery: RecoveryReport) => Promise<T>,
  ): Promise<T> {
    return this.withQueue(() => this.locked(fn));
  }

  /**
   * Heuristics name their source failure by id or unique prefix: resolved under the writers'
   * lock (so the answer cannot change before the commit), against the store and the failures
   * of the same batch, then rendered with the full id. A dangling or ambiguous id is invalid
   * input (exit 2): nothing of the records is written. A store without a commit has no
   * failure to name, and is refused before the lock is taken, so nothing is created.
   */
  private commitResolved(
    records: readonly LessonRecord[],
    render: (record: LessonRecord, i: number) => RenderedRecord,
    subject?: string,
    onProgress?: OnProgress,
  ): Promise<RecordResult[]> {
    const named = records.find((r) => r.kind === 'heuristic' && r.sourceId !== undefined);
    const batchFailures = records.filter((r) => r.kind === 'failure').map((r) => r.id);
    if (batchFailures.length === 0 && !fs.existsSync(path.join(this.layout.gitdir, 'HEAD')))
      throw danglingSource(named as HeuristicRecord, records.indexOf(named!), records.length);
    return this.withSession((ctx) => {
      const rendered = records.map((record, i) => {
        if (record.kind !== 'heuristic' || record.sourceId === undefined) return render(record, i);
        const sourceId = resolveSource(ctx, record, batchFailures, i, records.length);
        return render({ ...record, sourceId }, i);
      });
      onProgress?.(records.length, records.length, 'preparing');
      return runTransaction(ctx, rendered, this.now(), subject, onProgress);
    });
  }

  private locked<T>(fn: (ctx: WriteContext, recovery: RecoveryReport) => Promise<T>): Promise<T> {
    return this.lockedRaw(async (lock, deadline) => {
      const { ctx, recovery } = await this.openSession(lock, deadline);
      return fn(ctx, recovery);
    });
  }

  private openSession(lock: HeldLock, deadline: number): ReturnType<typeof openSession> {
    return openSession(this.layout, lock, this.db, {
      now: this.now,
      deadline,
      ...(this.staleMs === undefined ? {} : { staleMs: this.staleMs }),
    });
  }

  /** Hold the writers' lock (retrying while git's own lock files are held) and run `fn`. */
  private async lockedRaw<T>(fn: (lock: HeldLock, deadline: number) => Promise<T>): Promise<T> {
    if (this.closed)
      throw new UsageError(
        'STORE_CLOSED',
        `the store ${this.dir} was closed: open it again to write.`,
      );
    refuseUnusableStore(this.layout);
    prepareStoreDir(this.layout);
    const deadline = Date.now() + this.lockTimeoutMs;
    for (;;) {
      try {
        return await withWritersLock(
          this.layout.lockDir,
          {
            timeoutMs: Math.max(0, deadline - Date.now()),
            ...(this.staleMs === undefined ? {} : { staleMs: this.staleMs }),
          },
          (lock) => fn(lock, deadline),
        );
      } catch (error) {
        if (!(error instanceof GitBusy)) throw error;
        if (Date.now() >= deadline) throw gitBusyTimeout(error.lockPath, this.lockTimeoutMs);
        await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
      }
    }
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

  /** Check the three stores agree, record by record. Read-only; never waits on writers. */
  verify(options: VerifyOptions = {}): Promise<VerifyReport> {
    return verifyStore(this.dir, { staleMs: this.staleMs, ...options });
  }

  /**
   * Reconcile the store to HEAD (see docs/operations.md). With `dryRun`, only report the plan:
   * no lock, no recovery, nothing changed.
   */
  async cleanup(options: CleanupOptions = {}): Promise<CleanupReport> {
    const layout = requireStore(this.dir);
    const now = this.now();
    const planOptions = {
      graceMs: options.graceMs ?? DEFAULT_GRACE_MS,
      now,
      host: currentIdentity().host,
    };
    const surveyOptions = {
      staleMs: this.staleMs,
      deep: options.deep,
      onProgress: options.onProgress,
    };
    if (options.dryRun === true) {
      const survey = await surveyStore(layout, surveyOptions);
      const plan = planCleanup(survey, planOptions);
      return {
        // As for a real run: ok when nothing but files inside the grace period is left.
        ok: plan.every((a) => a.verb === 'defer'),
        dryRun: true,
        recovered: [],
        actions: plan,
        remaining: survey.findings,
        quarantine: null,
      };
    }
    return this.withQueue(() =>
      this.lockedRaw(async (lock, deadline) => {
        const quarantine = new Quarantine(layout, now);
        const done: CleanupAction[] = [];
        const dbProblem = databaseProblem(layout.dbFile);
        if (dbProblem !== undefined) {
          this.db.close();
          quarantineDatabase(layout, quarantine, `${dbProblem.code}: ${dbProblem.message}`);
          done.push({
            code: dbProblem.code,
            verb: 'rebuild-sqlite',
            path: 'index.db',
            detail: `index.db was unreadable (${dbProblem.message}); rebuilt from HEAD`,
          });
        }
        if (
          !fs.existsSync(path.join(layout.gitdir, 'index')) &&
          new GitRepository(layout.dir).head() !== undefined
        )
          done.push({
            code: 'GIT_INDEX_STALE',
            verb: 'rebuild-git-index',
            path: '.git/index',
            detail: '.git/index was missing; rebuilt from HEAD',
          });
        const { ctx, recovery } = await this.openSession(lock, deadline);
        const survey = await surveyStore(layout, surveyOptions);
        const plan = planCleanup(survey, planOptions);
        done.push(...(await executeCleanup(ctx, survey, plan, quarantine, now)));
        const deferred = deferredPaths(plan);
        const after = await surveyStore(layout, { staleMs: this.staleMs });
        const remaining = after.findings.filter(
          (f) => f.path === undefined || !deferred.has(f.path),
        );
        return {
          ok: remaining.length === 0,
          dryRun: false,
          recovered: recovery.actions,
          actions: [...done, ...plan.filter((a) => a.verb === 'defer')],
          remaining,
          quarantine:
            quarantine.moved.length === 0 ? null : path.relative(layout.dir, quarantine.dir),
        };
      }),
    );
  }

  /** Rebuild index.db from HEAD; the old file stays until the new one is complete. */
  async reindex(options: { onProgress?: OnProgress | undefined } = {}): Promise<ReindexResult> {
    const layout = requireStore(this.dir);
    return this.withQueue(() =>
      this.lockedRaw(async (lock, deadline) => {
        const dbProblem = databaseProblem(layout.dbFile);
        if (dbProblem !== undefined) {
          this.db.close();
          quarantineDatabase(
            layout,
            new Quarantine(layout, this.now()),
            `${dbProblem.code}: ${dbProblem.message}`,
          );
        }
        const { ctx } = await this.openSession(lock, deadline);
        this.db.close();
        return reindexDatabase(layout, ctx.repo, options.onProgress);
      }),
    );
  }

  private withQueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.queue;
    this.closed = true;
    this.db.close();
    this.readers.close();
  }
}

/** Open a store. Nothing is created until the first write. */
export async function openStore(options: OpenStoreOptions = {}): Promise<Store> {
  return new Store(options);
}

function sourceField(index: number, count: number): string {
  return count === 1 ? 'sourceId' : `records[${index}].sourceId`;
}

function danglingSource(record: HeuristicRecord, index: number, count: number): InvalidInputError {
  return new InvalidInputError(
    sourceField(index, count),
    `${JSON.stringify(record.sourceId)} names no failure in the store`,
    'Pass the id of a recorded failure (`lessons list --kind failure` shows them), or leave it out.',
  );
}

/** The full id of the one failure `record.sourceId` names (an id or a unique prefix). */
function resolveSource(
  ctx: WriteContext,
  record: HeuristicRecord,
  batchFailures: readonly string[],
  index: number,
  count: number,
): string {
  const prefix = record.sourceId!;
  const rows = ctx.db.db
    .prepare(
      "SELECT id, kind FROM records WHERE id >= @p AND id < @p || 'ZZZZZZZZZZZZZZZZZZZZZZZZZZ' ORDER BY id LIMIT 11",
    )
    .all({ p: prefix }) as { id: string; kind: string }[];
  const matches = [
    ...rows.filter((r) => r.id.startsWith(prefix)),
    ...batchFailures.filter((id) => id.startsWith(prefix)).map((id) => ({ id, kind: 'failure' })),
  ];
  if (matches.length === 0) throw danglingSource(record, index, count);
  const failures = matches.filter((m) => m.kind === 'failure');
  if (failures.length === 0)
    throw new InvalidInputError(
      sourceField(index, count),
      `${JSON.stringify(prefix)} names a heuristic (${matches[0]!.id}), not a failure`,
      'A heuristic comes from a failure: pass the id of one, or leave it out.',
    );
  if (failures.length > 1)
    throw new InvalidInputError(
      sourceField(index, count),
      `${JSON.stringify(prefix)} matches ${failures.length > 10 ? 'more than 10' : failures.length} failures (${failures
        .slice(0, 3)
        .map((f) => f.id)
        .join(', ')}${failures.length > 3 ? ', ...' : ''})`,
      'Give more characters of the id.',
    );
  return failures[0]!.id;
}
