// The public face of a store: open it, record failures and heuristics (alone or many in one
// transaction), recover, close. Writes are queued within the process and serialised across
// processes by the writers' lock.

import fs from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '../errors/index.js';
import { prepareRecord } from '../record/markdown.js';
import type {
  FailureInput,
  HeuristicInput,
  RecordInput,
  RecordResult,
  RenderedRecord,
} from '../record/types.js';
import { validateFailure, validateHeuristic, validateRecord } from '../record/validate.js';
import { runTransaction } from '../txn/coordinator.js';
import type { RecoveryReport } from '../txn/recovery.js';
import type { WriteContext } from '../txn/types.js';
import { layoutFor, prepareStoreDir, resolveStoreDir, type StoreLayout } from './layout.js';
import { DEFAULT_LOCK_TIMEOUT_MS, withWritersLock } from './lock.js';
import { DatabaseHandle, GitBusy, gitBusyTimeout, openSession } from './session.js';

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
}

export class Store {
  readonly dir: string;
  readonly layout: StoreLayout;
  private readonly lockTimeoutMs: number;
  private readonly staleMs: number | undefined;
  private readonly now: () => Date;
  private readonly db = new DatabaseHandle();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(options: OpenStoreOptions = {}) {
    this.dir = resolveStoreDir(options.dir);
    this.layout = layoutFor(this.dir);
    this.lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    this.staleMs = options.staleMs;
    this.now = options.now ?? (() => new Date());
    if (!(this.lockTimeoutMs >= 0)) {
      throw new InvalidInputError(
        'lockTimeout',
        `${String(options.lockTimeoutMs)} is not a duration`,
        'Pass a number of milliseconds >= 0.',
      );
    }
  }

  async recordFailure(input: FailureInput): Promise<RecordResult> {
    const [result] = await this.commitRecords([prepareRecord(validateFailure(input, this.now()))]);
    return result!;
  }

  async recordHeuristic(input: HeuristicInput): Promise<RecordResult> {
    const [result] = await this.commitRecords([
      prepareRecord(validateHeuristic(input, this.now())),
    ]);
    return result!;
  }

  /** Record many lessons as one transaction and one commit: all of them, or none. */
  async recordMany(
    inputs: readonly RecordInput[],
    options: RecordManyOptions = {},
  ): Promise<RecordResult[]> {
    if (inputs.length === 0) return [];
    const now = this.now();
    const rendered = inputs.map((input, i) => {
      try {
        return prepareRecord(validateRecord(input, now));
      } catch (error) {
        throw error instanceof InvalidInputError ? error.within(`records[${i}]`) : error;
      }
    });
    return this.commitRecords(rendered, options.subject);
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
    const run = this.queue.then(() => this.locked(fn));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private commitRecords(records: RenderedRecord[], subject?: string): Promise<RecordResult[]> {
    return this.withSession((ctx) => runTransaction(ctx, records, this.now(), subject));
  }

  private async locked<T>(
    fn: (ctx: WriteContext, recovery: RecoveryReport) => Promise<T>,
  ): Promise<T> {
    if (this.closed) throw new Error('the store is closed');
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
          async (lock) => {
            const { ctx, recovery } = await openSession(this.layout, lock, this.db, {
              now: this.now,
              ...(this.staleMs === undefined ? {} : { staleMs: this.staleMs }),
            });
            return fn(ctx, recovery);
          },
        );
      } catch (error) {
        if (!(error instanceof GitBusy)) throw error;
        if (Date.now() >= deadline) throw gitBusyTimeout(error.lockPath, this.lockTimeoutMs);
        await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
      }
    }
  }

  async close(): Promise<void> {
    await this.queue;
    this.closed = true;
    this.db.close();
  }
}

/** Open a store. Nothing is created until the first write. */
export async function openStore(options: OpenStoreOptions = {}): Promise<Store> {
  return new Store(options);
}
