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
    try {
      fs.unlinkSync(path.join(this.dir, this.ticket));
    } catch {
      // swept already
    }
    this.ticket = undefined;
  }

  /**
   * The ticket file of the nearest waiter ahead whose owner is alive on this host, or
   * undefined when this process is first in line (or not in it). Tickets of dead owners met
   * on the way are removed.
   */
  ahead(): string | undefined {
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
      const state = liveness(readIdentity(file));
      if (state === 'alive') return file;
      if (state === 'dead') {
        try {
          fs.unlinkSync(file);
        } catch {
          // removed meanwhile
        }
      }
    }
    return undefined;
  }

  /** Resolves when `ticket` is removed, or after `ms` (to look again at its owner). */
  static waitGone(ticket: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let watcher: fs.FSWatcher | undefined;
      const done = (): void => {
        clearTimeout(timer);
        watcher?.close();
        resolve();
      };
      const timer = setTimeout(done, ms);
      try {
        watcher = fs.watch(ticket, { persistent: false }, () => {
          if (!fs.existsSync(ticket)) done();
        });
        watcher.on('error', done);
      } catch (error) {
        // Gone before we watched it (or no events here): look again now, or at the poll.
        if (errnoCode(error) === 'ENOENT') done();
      }
      if (watcher !== undefined && !fs.existsSync(ticket)) done();
    });
  }
}

function readIdentity(file: string): Partial<ProcessIdentity> | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<ProcessIdentity>;
  } catch {
    return undefined;
  }
}
