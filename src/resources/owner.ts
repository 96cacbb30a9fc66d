// Who a process is, well enough to tell later whether it is still alive: pid, host, boot id
// and the process's start time (so a recycled pid is not mistaken for the original).

import fs from 'node:fs';
import os from 'node:os';
import { randomBytes } from 'node:crypto';

export interface ProcessIdentity {
  readonly pid: number;
  readonly host: string;
  /** Linux boot id; differs after a reboot. */
  readonly bootId?: string;
  /** Start time of the process in clock ticks since boot (Linux), for pid reuse. */
  readonly startTicks?: string;
  /** ISO time the identity was taken. */
  readonly since: string;
  /** Random token telling apart two holders in one process. */
  readonly token: string;
}

let cachedBootId: string | undefined | null = null;

function bootId(): string | undefined {
  if (cachedBootId === null) {
    try {
      cachedBootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      cachedBootId = undefined;
    }
  }
  return cachedBootId;
}

/** Fields 3 onwards of /proc/<pid>/stat (state, ppid, ...), or undefined off Linux. */
function procStat(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat: when the process started, in ticks since boot. */
export function processStartTicks(pid: number): string | undefined {
  return procStat(pid)?.[19];
}

/** This process's start ticks, read once: they never change while it lives. */
let ownStartTicks: string | undefined | null = null;

export function currentIdentity(): ProcessIdentity {
  const boot = bootId();
  if (ownStartTicks === null) ownStartTicks = processStartTicks(process.pid);
  const start = ownStartTicks;
  return {
    pid: process.pid,
    host: os.hostname(),
    ...(boot === undefined ? {} : { bootId: boot }),
    ...(start === undefined ? {} : { startTicks: start }),
    since: new Date().toISOString(),
    token: randomBytes(8).toString('hex'),
  };
}

export type Liveness = 'alive' | 'dead' | 'unknown';

/**
 * Whether the process is still running. 'unknown' when it ran on another host (or the
 * record is unreadable): only time can tell then.
 */
export function liveness(owner: Partial<ProcessIdentity> | undefined): Liveness {
  if (owner === undefined || typeof owner.pid !== 'number' || typeof owner.host !== 'string')
    return 'unknown';
  if (owner.host !== os.hostname()) return 'unknown';
  const boot = bootId();
  if (owner.bootId !== undefined && boot !== undefined && owner.bootId !== boot) return 'dead';
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return 'dead';
    // EPERM: it exists but belongs to someone else.
  }
  const stat = procStat(owner.pid);
  // A killed process stays a zombie until its parent reaps it: it holds nothing any more.
  if (stat !== undefined && (stat[0] === 'Z' || stat[0] === 'X')) return 'dead';
  if (owner.startTicks !== undefined && stat !== undefined && stat[19] !== owner.startTicks)
    return 'dead';
  return 'alive';
}
