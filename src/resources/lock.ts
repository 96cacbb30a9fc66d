// The writers' lock of a store: one holder at a time, across processes.
//
// proper-lockfile does the locking (an atomic mkdir, an mtime kept fresh, compromise
// detection); p-retry repeats the attempts within the --lock-timeout budget. We hand
// proper-lockfile a small fs adapter so that the lock directory appears already holding its
// owner's identity (assembled in a side directory, then renamed into place), and is removed by
// renaming it away. That lets a waiter reclaim the lock the moment its holder is provably dead
// on this host, with no window in which a lock has no owner, and it replaces proper-lockfile's
// own mtime-based takeover (which can hand one lock to two waiters).
//
// Waiting is driven by events, in line (queue.ts): the first waiter watches the lock's
// directory and tries again as soon as the lock is released; those behind it each watch the
// ticket of the one ahead. Jittered, growing polls are the fallback that also notices a holder
// or a waiter ahead that died. Without the events, a hundred waiters polling leave the lock idle
// between holders; without the line, each release wakes all of them, and those wake-ups take
// the CPU the holder needs.

import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import lockfile from 'proper-lockfile';
import pRetry, { AbortError } from 'p-retry';
import { LockTimeoutError, TransactionError } from '../errors/index.js';
import { errnoCode } from '../util/durable.js';
import { currentIdentity, liveness, type ProcessIdentity } from './owner.js';
import { trace } from '../util/faults.js';
import { WaitQueue, ticketPid } from './queue.js';
import { EntryWatch } from './watch.js';

const OWNER_FILE = 'owner.json';
/** proper-lockfile's own staleness is switched off; reclaiming is decided here. */
const NEVER_STALE = 2 ** 31 - 1;
/** How often the holder refreshes the lock's mtime. */
const UPDATE_MS = 1000;

export interface LockOptions {
  /** How long to wait for the lock before giving up with LOCK_TIMEOUT. @default 60000 */
  readonly timeoutMs?: number;
  /** A holder on another host whose lock has not been refreshed for this long is presumed dead. @default 10000 */
  readonly staleMs: number;
  /** Called once, when the lock is first found taken and this writer is about to wait. */
  readonly onBusy?: (() => void) | undefined;
  /**
   * Stops the waiting (never a held lock): withWritersLock then rejects with the signal's
   * reason. A waiter whose records a holder took over (group commit) waits no longer.
   */
  readonly signal?: AbortSignal | undefined;
}

export const DEFAULT_LOCK_TIMEOUT_MS = 60_000;
export const DEFAULT_STALE_MS = 10_000;

/** What a waiter sees of the current holder. */
export interface LockHolder {
  readonly owner: Partial<ProcessIdentity> | undefined;
  /** Milliseconds since the holder last refreshed the lock. */
  readonly idleMs: number;
  /** The lock directory's inode: the same path may hold another holder's lock a moment later. */
  readonly ino: number;
}

export interface HeldLock {
  /** Throws LOCK_COMPROMISED if the lock was lost; call before the commit point. */
  assertHeld(): void;
  readonly identity: ProcessIdentity;
}

function readOwner(lockDir: string): Partial<ProcessIdentity> | undefined {
  try {
    return JSON.parse(
      fs.readFileSync(path.join(lockDir, OWNER_FILE), 'utf8'),
    ) as Partial<ProcessIdentity>;
  } catch {
    return undefined;
  }
}

/** The current holder of the lock at `lockDir`, or undefined when it is free. */
export function inspectLock(lockDir: string): LockHolder | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(lockDir);
  } catch {
    return undefined;
  }
  return { owner: readOwner(lockDir), idleMs: Date.now() - stat.mtimeMs, ino: stat.ino };
}

/** How many other processes wait in line for the lock at `lockDir` (their tickets). */
export function lockWaiters(lockDir: string): number {
  try {
    return fs.readdirSync(sideDir(lockDir)).filter((name) => {
      const pid = ticketPid(name);
      return pid !== undefined && pid !== process.pid;
    }).length;
  } catch {
    return 0;
  }
}

/**
 * Where locks are assembled and where released ones are moved before removal: beside the lock,
 * so renames stay on one file system, but in a directory of its own, so that the lock's
 * directory changes only when the lock itself comes or goes (which is what waiters watch).
 */
function sideDir(lockDir: string): string {
  return `${lockDir}.d`;
}

function sidePath(lockDir: string, kind: 'new' | 'old'): string {
  const dir = sideDir(lockDir);
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, `${kind}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Remove a lock directory by renaming it away first, so removal is atomic. */
function removeLockDir(lockDir: string): void {
  const away = sidePath(lockDir, 'old');
  try {
    fs.renameSync(lockDir, away);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw error;
  }
  fs.rmSync(away, { recursive: true, force: true });
}

/**
 * The fs proper-lockfile sees: mkdir creates the lock with its owner inside, atomically; rmdir
 * removes it by renaming it away. One per attempt to take the lock.
 *
 * proper-lockfile refreshes the lock's mtime by path (a stat, then a utimes) and checks whether
 * the lock was released only after the utimes. A holder that released the lock while a refresh
 * was on its way would then set the mtime of the next holder's lock, which sees an mtime not
 * its own and gives up its transaction as LOCK_COMPROMISED. So once the lock is released here,
 * a refresh is refused, and the release waits for a refresh already running.
 */
export function lockFs(identity: ProcessIdentity): object {
  type Callback = (error: NodeJS.ErrnoException | null, ...rest: unknown[]) => void;
  let released = false;
  let refreshing = 0;
  let whenIdle: (() => void) | undefined;
  return {
    mkdir(dir: string, callback: Callback) {
      if (fs.existsSync(dir)) {
        callback(Object.assign(new Error(`${dir} exists`), { code: 'EEXIST' }));
        return;
      }
      const staging = sidePath(dir, 'new');
      try {
        fs.mkdirSync(staging);
        fs.writeFileSync(path.join(staging, OWNER_FILE), JSON.stringify(identity));
        // A directory renames over a missing path but never over one holding an owner file.
        fs.renameSync(staging, dir);
        callback(null);
      } catch (error) {
        fs.rmSync(staging, { recursive: true, force: true });
        const code = errnoCode(error);
        callback(
          code === 'ENOTEMPTY' || code === 'EEXIST'
            ? Object.assign(new Error(`${dir} exists`), { code: 'EEXIST' })
            : (error as NodeJS.ErrnoException),
        );
      }
    },
    rmdir(dir: string, callback: Callback) {
      released = true;
      const remove = (): void => {
        try {
          removeLockDir(dir);
          callback(null);
        } catch (error) {
          callback(error as NodeJS.ErrnoException);
        }
      };
      if (refreshing === 0) remove();
      else whenIdle = remove;
    },
    rmdirSync(dir: string) {
      released = true;
      removeLockDir(dir);
    },
    stat: fs.stat,
    utimes(file: string, atime: Date, mtime: Date, callback: Callback) {
      if (released) {
        callback(Object.assign(new Error(`${file} was released`), { code: 'ERELEASED' }));
        return;
      }
      refreshing++;
      fs.utimes(file, atime, mtime, (error) => {
        refreshing--;
        const idle = refreshing === 0 ? whenIdle : undefined;
        if (idle !== undefined) whenIdle = undefined;
        callback(error);
        idle?.();
      });
    },
    realpath: fs.realpath,
  };
}

/** Dead on this host (pid gone or recycled), or on another host silent for over `staleMs`. */
function isAbandoned(holder: LockHolder, staleMs: number): boolean {
  const state = liveness(holder.owner);
  return state === 'dead' || (state === 'unknown' && holder.idleMs > staleMs);
}

/**
 * Take the lock if its holder is gone: dead on this host (pid gone or recycled), or, on
 * another host, silent for longer than `staleMs`. Returns true when something was removed.
 */
function reclaimIfAbandoned(lockDir: string, staleMs: number): boolean {
  const holder = inspectLock(lockDir);
  if (holder === undefined || !isAbandoned(holder, staleMs)) return false;
  // Rename it aside, then check that what we moved is the lock we judged; if another waiter
  // already replaced it with a live one, put that back.
  const aside = sidePath(lockDir, 'old');
  try {
    fs.renameSync(lockDir, aside);
  } catch {
    return false;
  }
  // The directory judged, by its inode (its owner file may have been unreadable) and its token.
  const moved = readOwner(aside);
  const sameDir = fs.statSync(aside, { throwIfNoEntry: false })?.ino === holder.ino;
  if (!sameDir || (holder.owner !== undefined && moved?.token !== holder.owner.token)) {
    try {
      fs.renameSync(aside, lockDir);
      return false;
    } catch {
      // A new holder took the path meanwhile; the one we moved will see itself compromised.
    }
  }
  fs.rmSync(aside, { recursive: true, force: true });
  return true;
}

/** True while the lock exists and its holder is alive (or, on another host, fresh). */
function heldByLiveOwner(lockDir: string, staleMs: number): boolean {
  const holder = inspectLock(lockDir);
  return holder !== undefined && !isAbandoned(holder, staleMs);
}

/** Leftovers of acquisitions, releases and waits interrupted by a crash, in the side directory. */
function sweepDebris(lockDir: string): void {
  const dir = sideDir(lockDir);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  const host = currentIdentity().host;
  for (const name of names) {
    const pid = /^(?:new|old)-(\d+)-[0-9a-f]+$/.exec(name)?.[1] ?? ticketPid(name);
    if (pid !== undefined && liveness({ pid: Number(pid), host }) === 'dead') {
      fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    }
  }
}

/** Fallback polling: the first retry after ~20 ms, growing to ~400 ms, each jittered. */
const POLL_MIN_MS = 20;
const POLL_MAX_MS = 400;

function pollDelay(attempt: number): number {
  return Math.min(POLL_MAX_MS, POLL_MIN_MS * 1.5 ** (attempt - 1)) * (0.5 + Math.random());
}

export function describeHolder(lockDir: string, holder: LockHolder | undefined): string {
  if (holder === undefined) return `The lock ${lockDir} was released just now; try again.`;
  const o = holder.owner;
  const who =
    o?.pid === undefined ? 'an unknown process' : `pid ${o.pid} on ${o.host ?? 'an unknown host'}`;
  const since = o?.since === undefined ? '' : ` since ${o.since}`;
  return (
    `The writers' lock ${lockDir} is held by ${who}${since} (last refreshed ${(holder.idleMs / 1000).toFixed(1)} s ago). ` +
    `Another writer is busy; try again or raise --lock-timeout. If that process is gone (for example on another host), ` +
    `remove ${lockDir} and run \`lessons recover\`.`
  );
}

/**
 * Run `fn` holding the writers' lock at `lockDir`. The lock is released afterwards, whatever
 * happens; `fn` receives a handle to check the lock is still held before its commit point.
 */
export async function withWritersLock<T>(
  lockDir: string,
  options: LockOptions,
  fn: (lock: HeldLock) => Promise<T>,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const staleMs = options.staleMs;
  const identity = currentIdentity();
  let compromised: Error | undefined;
  const target = path.dirname(lockDir);
  let swept = false;

  const attempt = async (): Promise<() => Promise<void>> => {
    try {
      return await lockfile.lock(target, {
        lockfilePath: lockDir,
        realpath: false,
        stale: NEVER_STALE,
        update: UPDATE_MS,
        retries: 0,
        fs: lockFs(identity) as never,
        onCompromised: (error: Error) => {
          compromised = error;
        },
      });
    } catch (error) {
      if (errnoCode(error) !== 'ELOCKED') throw new AbortError(error as Error);
      if (!swept) {
        sweepDebris(lockDir);
        swept = true;
      }
      if (reclaimIfAbandoned(lockDir, staleMs)) return attempt();
      throw error;
    }
  };

  let release: () => Promise<void>;
  const deadline = performance.now() + timeoutMs;
  // Wakes the first waiter in line when the lock is released (armed only there, so the waiters
  // behind are not woken by every coming and going of the lock; taking it is no news).
  const watch = new EntryWatch(lockDir, () => !fs.existsSync(lockDir));
  const queue = new WaitQueue(sideDir(lockDir), identity);
  try {
    release = await pRetry(attempt, {
      retries: Number.POSITIVE_INFINITY,
      maxRetryTime: timeoutMs,
      // The waiting between attempts happens here. A waiter joins the line, waits for the one
      // ahead of it to be served, then (first in line) for the lock's release, and looks (a
      // stat, the owner file, a signal 0) before each full attempt, which is far costlier.
      minTimeout: 0,
      shouldRetry: async ({ attemptNumber }) => {
        const signal = options.signal;
        const stop = (): void => {
          if (signal?.aborted === true) throw signal.reason;
        };
        if (attemptNumber === 1) options.onBusy?.();
        stop();
        queue.join();
        await queue.waitTurn(deadline, pollDelay, () => !heldByLiveOwner(lockDir, staleMs), signal);
        for (let polls = attemptNumber; ; polls++) {
          stop();
          const remaining = deadline - performance.now();
          if (remaining <= 0) return true;
          watch.arm();
          if (!heldByLiveOwner(lockDir, staleMs)) return true;
          await watch.next(Math.min(pollDelay(polls), remaining), signal);
          stop();
          if (!heldByLiveOwner(lockDir, staleMs)) return true;
        }
      },
    });
  } catch (error) {
    if (errnoCode(error) === 'ELOCKED') {
      const holder = inspectLock(lockDir);
      throw new LockTimeoutError(
        `The store is busy: no lock within ${(timeoutMs / 1000).toFixed(1)} s. ${describeHolder(lockDir, holder)}`,
        {
          data: { lockDir, timeoutMs, holder: holder?.owner ?? null },
          cause: error,
        },
      );
    }
    throw error;
  } finally {
    watch.close();
    queue.leave();
  }

  trace('lock-acquired');
  const held: HeldLock = {
    identity,
    assertHeld() {
      if (compromised !== undefined) {
        throw new TransactionError(
          'LOCK_COMPROMISED',
          `the writers' lock ${lockDir} was lost while the transaction ran (${compromised.message}); nothing was stored`,
          { cause: compromised },
        );
      }
    },
  };
  try {
    return await fn(held);
  } finally {
    if (compromised === undefined) {
      await release().catch(() => undefined);
      trace('lock-released');
    }
  }
}
