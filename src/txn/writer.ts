// The writing side of one open store: writes are queued within the process, serialised
// across processes by the writers' lock, and each runs in a session that created what a first
// write needs and recovered what crashed writers left. The store facade and the maintenance
// tools write only through here.

import fs from 'node:fs';
import { GitLockedError, LockTimeoutError, UsageError } from '../errors/index.js';
import type { WriteContext } from '../participants/types.js';
import type { RecordResult } from '../record/types.js';
import { DatabaseConnection } from '../resources/connection.js';
import { holderSocketPath } from '../resources/handover.js';
import { rmQuiet } from '../util/durable.js';
import { prepareStoreDir, type StoreLayout } from '../resources/layout.js';
import { DEFAULT_LOCK_TIMEOUT_MS, DEFAULT_STALE_MS, withWritersLock } from '../resources/lock.js';
import { refuseUnusableStore } from '../resources/preflight.js';
import type { TransactionOptions, UnitInput } from './coordinator.js';
import { groupCommit, type GroupWriter, type WaitHooks } from './group.js';
import { trace } from '../util/faults.js';
import type { RecoveryReport } from './recovery.js';
import { openSession } from './session.js';

export interface WriterOptions {
  /** How long a write waits for the store (the writers' lock, git's lock files). @default 60000 */
  readonly lockTimeoutMs?: number | undefined;
  /** A lock or journal entry from another host is presumed abandoned after this long. @default 10000 */
  readonly staleMs?: number | undefined;
  /** The clock. @default () => new Date() */
  readonly now?: (() => Date) | undefined;
  /** A group's holder answers its own caller first and serves on in the background (group.ts). */
  readonly serveInBackground?: boolean | undefined;
}

export interface RunOptions {
  /** Runs under the writers' lock before the session opens (to move an unreadable index.db aside). */
  readonly beforeSession?: (() => void) | undefined;
}

export class Writer {
  readonly layout: StoreLayout;
  readonly lockTimeoutMs: number;
  readonly staleMs: number;
  readonly now: () => Date;
  private readonly connection: DatabaseConnection;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly serveInBackground: boolean;
  /** Lock holders serving other writers after their own caller had its answer (group.ts). */
  private readonly serving = new Set<Promise<void>>();
  /** close() was called: writes asked for from then on are refused. */
  private closing = false;
  private closed = false;

  constructor(layout: StoreLayout, options: WriterOptions = {}) {
    this.layout = layout;
    this.lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    this.staleMs = options.staleMs ?? DEFAULT_STALE_MS;
    this.now = options.now ?? (() => new Date());
    this.serveInBackground = options.serveInBackground === true;
    this.connection = new DatabaseConnection(layout.dbFile);
  }

  /**
   * Store `units` as one transaction (see runTransaction); each unit's results, in order.
   * When the store is busy, the units are handed over to the lock holder, which commits them
   * in its group (txn/group.ts); whoever holds the lock commits the handovers of others too.
   */
  commit(
    units: readonly UnitInput[],
    options: Omit<TransactionOptions, 'now' | 'onCommitted'> = {},
  ): Promise<RecordResult[][]> {
    if (this.closing) return Promise.reject(this.closedError());
    const run = this.queue.then(() => groupCommit(this.groupAccess(), units, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** What group commit needs of this writer: the lock (with its waiting hooks) and the clock. */
  private groupAccess(): GroupWriter {
    return {
      layout: this.layout,
      lockTimeoutMs: this.lockTimeoutMs,
      staleMs: this.staleMs,
      now: this.now,
      locked: (fn, hooks) => this.locked((ctx) => fn(ctx), {}, hooks),
      background: this.serveInBackground
        ? (work) => {
            // Its failures were answered to the writers it served; its own records are stored.
            const settled = work.then(
              () => undefined,
              () => trace('group-serving-failed'),
            );
            this.serving.add(settled);
            void settled.then(() => this.serving.delete(settled));
          }
        : undefined,
    };
  }

  /** Resolves once this process no longer holds the lock to serve others (group.ts). */
  private async servingEnded(): Promise<void> {
    while (this.serving.size > 0) await Promise.all(this.serving);
  }

  private closedError(): UsageError {
    return new UsageError(
      'STORE_CLOSED',
      `the store ${this.layout.dir} was closed: open it again to write.`,
    );
  }

  /**
   * Run `fn` holding the writers' lock, in a session opened and recovered, after every write
   * this process queued before it. A git lock file held for the whole lock timeout (a
   * person's git at work in the store) is a busy store (LOCK_TIMEOUT), like the writers' lock.
   */
  run<T>(
    fn: (ctx: WriteContext, recovery: RecoveryReport) => Promise<T>,
    options: RunOptions = {},
  ): Promise<T> {
    if (this.closing) return Promise.reject(this.closedError());
    const run = this.queue.then(() => this.locked(fn, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Drop the write connection, e.g. before index.db is moved away or replaced. */
  disconnect(): void {
    this.connection.close();
  }

  /**
   * Close, once every write asked for before has run and any serving of other writers has
   * ended; writes asked for from now on are refused.
   */
  async close(): Promise<void> {
    this.closing = true;
    await this.queue;
    await this.servingEnded();
    this.closed = true;
    this.connection.close();
  }

  private async locked<T>(
    fn: (ctx: WriteContext, recovery: RecoveryReport) => Promise<T>,
    options: RunOptions,
    hooks: WaitHooks = {},
  ): Promise<T> {
    if (this.closed) throw this.closedError();
    // This process's own holder, serving others, lets the lock go first: the wait for it
    // below (and its timeout) is for other processes.
    if (this.serving.size > 0) await this.servingEnded();
    refuseUnusableStore(this.layout);
    prepareStoreDir(this.layout);
    const deadline = Date.now() + this.lockTimeoutMs;
    try {
      return await withWritersLock(
        this.layout.lockDir,
        {
          timeoutMs: hooks.timeoutMs ?? this.lockTimeoutMs,
          staleMs: this.staleMs,
          onBusy: hooks.onBusy,
          signal: hooks.signal,
        },
        async (lock) => {
          // A holder's socket left by one that died (or lost the lock): nobody serves now.
          const socket = holderSocketPath(this.layout.groupDir);
          if (socket !== undefined) rmQuiet(socket);
          options.beforeSession?.();
          const { ctx, recovery } = await openSession(this.layout, lock, this.connection, {
            now: this.now,
            deadline,
            staleMs: this.staleMs,
          });
          return fn(ctx, recovery);
        },
      );
    } catch (error) {
      if (error instanceof GitLockedError) throw gitBusy(error, this.lockTimeoutMs);
      throw error;
    }
  }
}

/** A git lock file held past the deadline: the store is busy, and nothing was stored. */
function gitBusy(error: GitLockedError, timeoutMs: number): LockTimeoutError {
  const lockPath = String(error.data.lockPath);
  let since = '';
  try {
    since = ` since ${fs.statSync(lockPath).mtime.toISOString()}`;
  } catch {
    // released meanwhile
  }
  return new LockTimeoutError(
    `The store is busy: git's lock file ${lockPath} has been held${since} for all of the ${(timeoutMs / 1000).toFixed(1)} s lock timeout. ` +
      `A git command is running in the store; if none is, remove that file and try again. Nothing was stored.`,
    { data: { lockPath, timeoutMs }, cause: error },
  );
}
