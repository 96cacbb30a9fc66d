// The line of waiters for the writers' lock, so that a release wakes one process, not all.
//
// Each waiter leaves a ticket (its identity, in a file named by arrival time) in the lock's
// side directory and watches only the ticket just before its own; the first in line watches
// the lock itself. A waiter takes its ticket away once it holds the lock (or gives up), which
// wakes the next in line, and so on. With a hundred writers this turns the two hundred wake-ups
// of each record (every waiter seeing the lock go and come back, and most of them trying for
// it) into two, and serves writers roughly in order of arrival.
//
// The line only decides who tries when; the lock itself still decides who holds it, so a
// broken line costs time, never safety. A ticket whose owner died is removed by the waiter
// behind it (or by the next sweep); one whose owner lives on another host cannot be judged and
// is not waited on.

import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { errnoCode } from '../util/durable.js';
import { liveness, type ProcessIdentity } from './owner.js';

/** How long the lock may stay free while the waiter ahead does not take it. */
const STUCK_MS = 1_000;

const TICKET = /^q-(\d+)-(\d+)-[0-9a-f]+$/;

/** A ticket's owner pid, for sweeping those of dead processes. */
export function ticketPid(name: string): number | undefined {
  const match = TICKET.exec(name);
  return match === null ? undefined : Number(match[2]);
}

export class WaitQueue {
  private readonly dir: string;
  private readonly identity: ProcessIdentity;
  private ticket: string | undefined;

  constructor(dir: string, identity: ProcessIdentity) {
    this.dir = dir;
    this.identity = identity;
  }

  /** Join the line (once). Returns false where no ticket can be written; waiting then polls. */
  join(): boolean {
    if (this.ticket !== undefined) return true;
    const name = `q-${String(Date.now()).padStart(15, '0')}-${this.identity.pid}-${randomBytes(4).toString('hex')}`;
    try {
      fs.mkdirSync(this.dir, { recursive: true });
      fs.writeFileSync(path.join(this.dir, name), JSON.stringify(this.identity), { flag: 'wx' });
    } catch {
      return false;
    }
    this.ticket = name;
    return true;
  }

  /** Leave the line, waking whoever is behind. */
  leave(): void {
    if (this.ticket === undefined) return;
    removeTicket(path.join(this.dir, this.ticket));
    this.ticket = undefined;
  }

  /**
   * The ticket file of the nearest waiter ahead whose owner is alive on this host, or
   * undefined when this process is first in line (or not in it). Tickets of dead owners met
   * on the way are removed.
   */
  ahead(): string | undefined {
    return this.nearestAhead()?.file;
  }

  /**
   * Resolves once this process is first in line, or at `deadline` (a `performance.now()` time).
   * It watches the ticket just ahead and, between that ticket's events, looks every
   * `pollDelay(n)` ms only at whether its owner still lives (a signal 0 and a /proc read), not
   * at the whole line: with a hundred waiters, listing and reading the line at every poll
   * cost more CPU than the records themselves. The line is listed again only when the ticket
   * ahead goes (served, or its owner died).
   *
   * A waiter ahead that lives but does not move (stopped, say, or a recycled pid where tickets
   * carry no start time) must not hold up the line: once `lockFree()` has held at every poll
   * for `STUCK_MS`, this resolves anyway and the waiter tries the lock out of turn.
   */
  async waitTurn(
    deadline: number,
    pollDelay: (poll: number) => number,
    lockFree: () => boolean = () => false,
    signal?: AbortSignal,
  ): Promise<void> {
    let poll = 1;
    let freeSince: number | undefined;
    const aborted = (): boolean => signal?.aborted === true;
    for (let ahead = this.nearestAhead(); ahead !== undefined; ahead = this.nearestAhead()) {
      const watch = new TicketWatch(ahead.file);
      const interrupt = (): void => watch.interrupt();
      signal?.addEventListener('abort', interrupt, { once: true });
      try {
        for (;;) {
          if (aborted()) return;
          const remaining = deadline - performance.now();
          if (remaining <= 0) return;
          if (await watch.gone(Math.min(pollDelay(poll++), remaining))) break;
          if (liveness(ahead.owner) === 'dead') {
            removeTicket(ahead.file);
            break;
          }
          if (!lockFree()) freeSince = undefined;
          else if (performance.now() - (freeSince ??= performance.now()) >= STUCK_MS) return;
        }
      } finally {
        signal?.removeEventListener('abort', interrupt);
        watch.close();
      }
      if (aborted()) return;
    }
  }

  private nearestAhead():
    { file: string; owner: Partial<ProcessIdentity> | undefined } | undefined {
    if (this.ticket === undefined) return undefined;
    let names: string[];
    try {
      names = fs.readdirSync(this.dir).filter((n) => TICKET.test(n) && n < this.ticket!);
    } catch {
      return undefined;
    }
    names.sort();
    for (let i = names.length - 1; i >= 0; i--) {
      const file = path.join(this.dir, names[i]!);
      const owner = readIdentity(file);
      const state = liveness(owner);
      if (state === 'alive') return { file, owner };
      if (state === 'dead') removeTicket(file);
    }
    return undefined;
  }
}

/** Watches one ticket file for its removal, for as long as the waiter behind it waits. */
class TicketWatch {
  private readonly file: string;
  private watcher: fs.FSWatcher | undefined;
  private removed = false;
  private wake: (() => void) | undefined;

  constructor(file: string) {
    this.file = file;
    try {
      this.watcher = fs.watch(file, { persistent: false }, () => this.look());
      this.watcher.on('error', () => this.markRemoved());
    } catch (error) {
      // Gone before we watched it; any other failure leaves only the polls (see gone()).
      if (errnoCode(error) === 'ENOENT') this.removed = true;
    }
  }

  /**
   * True once the ticket is removed: at once if it already is, else as soon as that happens
   * within `ms`. False when `ms` ran out with the ticket still there.
   */
  gone(ms: number): Promise<boolean> {
    if (this.removed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        this.look();
        resolve(this.removed);
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.wake = undefined;
  }

  /** End the current wait at once (the waiter stops waiting altogether). */
  interrupt(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private look(): void {
    if (!this.removed && !fs.existsSync(this.file)) this.markRemoved();
  }

  private markRemoved(): void {
    this.removed = true;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

function removeTicket(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // removed meanwhile
  }
}

function readIdentity(file: string): Partial<ProcessIdentity> | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<ProcessIdentity>;
  } catch {
    return undefined;
  }
}
