// The writers' lock of a store: one holder at a time, across processes.
//
// proper-lockfile does the locking (an atomic mkdir, an mtime kept fresh, compromise
// detection); p-retry spaces the attempts with jittered, growing delays within the
// --lock-timeout budget. We hand proper-lockfile a small fs adapter so that the lock directory
// appears already holding its owner's identity (assembled beside it, then renamed into place),
// and is removed by renaming it away. That lets a waiter reclaim the lock the moment its holder
// is provably dead on this host, with no window in which a lock has no owner, and it replaces
// proper-lockfile's own mtime-based takeover (which can hand one lock to two waiters).

import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import lockfile from 'proper-lockfile';
import pRetry, { AbortError } from 'p-retry';
import { LockTimeoutError, TransactionError } from '../errors/index.js';
import { errnoCode } from '../util/durable.js';
import { currentIdentity, liveness, type ProcessIdentity } from './owner.js';

const OWNER_FILE = 'owner.json';
/** proper-lockfile's own staleness is switched off; reclaiming is decided here. */
const NEVER_STALE = 2 ** 31 - 1;
/** How often the holder refreshes the lock's mtime. */
const UPDATE_MS = 1000;

export interface LockOptions {
  /** How long to wait for the lock before giving up with LOCK_TIMEOUT. @default 60000 */
  readonly timeoutMs?: number;
  /** A holder on another host whose lock has not been refreshed for this long is presumed dead. @default 10000 */
  readonly staleMs?: number;
}

export const DEFAULT_LOCK_TIMEOUT_MS = 60_000;
export const DEFAULT_STALE_MS = 10_000;

/** What a waiter sees of the current holder. */
export interface LockHolder {
  readonly owner: Partial<ProcessIdentity> | undefined;
  /** Milliseconds since the holder last refreshed the lock. */
  readonly idleMs: number;
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
  return { owner: readOwner(lockDir), idleMs: Date.now() - stat.mtimeMs };
}

/** Remove a lock directory by renaming it away first, so removal is atomic. */
function removeLockDir(lockDir: string): void {
  const away = `${lockDir}.old-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    fs.renameSync(lockDir, away);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw error;
  }
  fs.rmSync(away, { recursive: true, force: true });
}

/** The fs proper-lockfile sees: mkdir creates the lock with its owner inside, atomically. */
function lockFs(identity: ProcessIdentity): object {
  type Callback = (error: NodeJS.ErrnoException | null, ...rest: unknown[]) => void;
  return {
    mkdir(dir: string, callback: Callback) {
      if (fs.existsSync(dir)) {
        callback(Object.assign(new Error(`${dir} exists`), { code: 'EEXIST' }));
        return;
      }
      const staging = `${dir}.new-${process.pid}-${randomBytes(4).toString('hex')}`;
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
      try {
        removeLockDir(dir);
        callback(null);
      } catch (error) {
        callback(error as NodeJS.ErrnoException);
      }
    },
    rmdirSync(dir: string) {
      removeLockDir(dir);
    },
    stat: fs.stat,
    utimes: fs.utimes,
    realpath: fs.realpath,
  };
}

/**
 * Take the lock if its holder is gone: dead on this host (pid gone or recycled), or, on
 * another host, silent for longer than `staleMs`. Returns true when something was removed.
 */
function reclaimIfAbandoned(lockDir: string, staleMs: number): boolean {
  const holder = inspectLock(lockDir);
  if (holder === undefined) return false;
  const state = liveness(holder.owner);
  const abandoned = state === 'dead' || (state === 'unknown' && holder.idleMs > staleMs);
  if (!abandoned) return false;
  // Rename it aside, then check that what we moved is the lock we judged; if another waiter
  // already replaced it with a live one, put that back.
  const aside = `${lockDir}.old-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    fs.renameSync(lockDir, aside);
  } catch {
    return false;
  }
  const moved = readOwner(aside);
  if (holder.owner !== undefined && moved?.token !== holder.owner.token) {
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

/** Leftovers of interrupted acquisitions and releases (`lock.new-*`, `lock.old-*`). */
function sweepDebris(lockDir: string): void {
  const parent = path.dirname(lockDir);
  const base = path.basename(lockDir);
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const match = /^(?:.+)\.(?:new|old)-(\d+)-[0-9a-f]+$/.exec(name);
    if (!match || !name.startsWith(`${base}.`)) continue;
    if (liveness({ pid: Number(match[1]), host: currentIdentity().host }) === 'dead') {
      fs.rmSync(path.join(parent, name), { recursive: true, force: true });
    }
  }
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
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
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
  try {
    release = await pRetry(attempt, {
      retries: Number.POSITIVE_INFINITY,
      minTimeout: 5,
      maxTimeout: 150,
      factor: 1.5,
      randomize: true,
      maxRetryTime: timeoutMs,
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
  }

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
    }
  }
}
