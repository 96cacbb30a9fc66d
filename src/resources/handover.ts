// The handover board of group commit: where writers waiting for the writers' lock leave their
// rendered records for the lock holder to commit with its own, and where they learn what
// became of them. One folder, `.lessons/group/`, three kinds of file per handover `<hid>`:
//
//   h-<hid>.json   offered: the waiter's rendered units (written to a temp name, renamed in)
//   c-<hid>.json   claimed: renamed from h- by a lock holder that commits it
//   o-<hid>.json   outcome: the results (ids, rowids, commits) or the error, written by the
//                  holder (or by recovery) before the claim is removed
//
// Every change is made under the writers' lock except the waiter's own: offering, withdrawing
// (an unlink that fails once a holder has claimed it) and collecting its outcome. A rename is
// atomic, so exactly one of the waiter (withdraw) and a holder (claim) wins each handover.
// `<hid>` begins with the arrival time and the waiter's pid, so handovers are claimed in order
// of arrival and those of dead waiters are told apart without reading them.
//
// Nothing here is fsynced: a handover matters only while its waiter lives, and the holder
// writes its records durably itself (journal, files, objects). After a power loss every
// waiter is gone too, and what a holder committed is in git, found by recovery.

import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { sha256 } from '../git/hash.js';
import type { RecordResult, RenderedRecord } from '../record/types.js';
import { errnoCode, rmQuiet } from '../util/durable.js';
import { liveness, type ProcessIdentity } from './owner.js';

/** One caller's records and its commit subject, as handed over. */
export interface HandoverUnit {
  readonly records: readonly RenderedRecord[];
  readonly subject?: string | undefined;
}

/** What the waiter learns: its records stored (each unit's results), or why not. */
export type HandoverOutcome =
  | { readonly ok: true; readonly results: RecordResult[][] }
  | {
      readonly ok: false;
      readonly error: {
        readonly code: string;
        readonly message: string;
        readonly exitCode: number;
      };
      /** Nothing of the group is stored, and no journal entry of it is left: safe to try again. */
      readonly retry: boolean;
    };

/** A handover a lock holder claimed, to commit as units of its transaction. */
export interface ClaimedHandover {
  readonly hid: string;
  readonly owner: Partial<ProcessIdentity>;
  readonly units: readonly HandoverUnit[];
  readonly records: number;
}

interface StoredRecord {
  readonly record: RenderedRecord['record'];
  readonly path: string;
  readonly content: string;
  readonly blobOid: string;
  readonly sha256: string;
  readonly allowedSecrets?: readonly string[];
  readonly scanned?: string;
}

interface StoredHandover {
  readonly version: 1;
  readonly hid: string;
  readonly owner: ProcessIdentity;
  readonly units: readonly { readonly subject?: string; readonly records: StoredRecord[] }[];
}

const NAME = /^([hco])-((\d+)-(\d+)-[0-9a-f]+)\.json$/;

/** The largest group a holder gathers: records, and bytes of record content. */
export const GROUP_MAX_RECORDS = 64;
export const GROUP_MAX_BYTES = 8 * 1024 * 1024;

/** The handover's owner pid, from its id. */
function hidPid(hid: string): number {
  return Number(hid.split('-')[1]);
}

export class HandoverBoard {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  private file(kind: 'h' | 'c' | 'o', hid: string): string {
    return path.join(this.dir, `${kind}-${hid}.json`);
  }

  /** Offer `units` to the lock holder; returns the handover id. */
  offer(units: readonly HandoverUnit[], owner: ProcessIdentity): string {
    const hid = `${String(Date.now()).padStart(15, '0')}-${process.pid}-${randomBytes(6).toString('hex')}`;
    const stored: StoredHandover = {
      version: 1,
      hid,
      owner,
      units: units.map((u) => ({
        ...(u.subject === undefined ? {} : { subject: u.subject }),
        records: u.records.map((r) => ({
          record: r.record,
          path: r.path,
          content: r.content.toString('base64'),
          blobOid: r.blobOid,
          sha256: r.sha256,
          ...(r.allowedSecrets === undefined ? {} : { allowedSecrets: r.allowedSecrets }),
          ...(r.scanned === undefined ? {} : { scanned: r.scanned }),
        })),
      })),
    };
    fs.mkdirSync(this.dir, { recursive: true });
    const target = this.file('h', hid);
    const tmp = `${this.dir}/t-${hid}`;
    fs.writeFileSync(tmp, JSON.stringify(stored));
    fs.renameSync(tmp, target);
    return hid;
  }

  /** The offered file, to watch: its inode is renamed when claimed and unlinked when answered. */
  offeredPath(hid: string): string {
    return this.file('h', hid);
  }

  /** True while a holder's claim stands, unanswered or not yet released. */
  isClaimed(hid: string): boolean {
    return fs.existsSync(this.file('c', hid));
  }

  /** True while the handover is offered and nobody has claimed it. */
  isOffered(hid: string): boolean {
    return fs.existsSync(this.file('h', hid));
  }

  /**
   * Take an offered handover back (the waiter commits it itself, or gives up). False when a
   * lock holder claimed it first: its outcome is then the holder's to give.
   */
  withdraw(hid: string): boolean {
    try {
      fs.unlinkSync(this.file('h', hid));
      return true;
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return false;
      throw error;
    }
  }

  /**
   * Under the writers' lock, what the waiter `hid` finds of its handover: its outcome; or
   * 'mine' when nobody holds it any more (still offered, or claimed by a holder that died
   * before its journal entry, which recovery would otherwise have answered): withdrawn, for
   * the waiter to commit itself; or 'lost' when nothing is left of it.
   */
  settle(hid: string): HandoverOutcome | 'mine' | 'lost' {
    const outcome = this.outcome(hid);
    if (outcome !== undefined) return outcome;
    if (this.withdraw(hid)) return 'mine';
    try {
      fs.unlinkSync(this.file('c', hid));
      return 'mine';
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
    }
    return this.outcome(hid) ?? 'lost';
  }

  /** The outcome of `hid`, once written. */
  outcome(hid: string): HandoverOutcome | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.file('o', hid), 'utf8')) as HandoverOutcome;
    } catch {
      return undefined;
    }
  }

  /** The waiter is done with its handover: whatever is left of it goes. */
  forget(hid: string): void {
    for (const kind of ['h', 'c', 'o'] as const) rmQuiet(this.file(kind, hid));
  }

  /**
   * Under the writers' lock: claim offered handovers, oldest first, up to the bounds (the
   * first is always taken, whatever its size). A handover claimed by a holder that died before
   * its journal entry (no outcome: recovery, which ran first, answers every journaled one) is
   * claimed again. Handovers whose waiter died are removed unclaimed: never committed.
   */
  claim(
    options: { maxRecords?: number; maxBytes?: number; skip?: string } = {},
  ): ClaimedHandover[] {
    const maxRecords = options.maxRecords ?? GROUP_MAX_RECORDS;
    const maxBytes = options.maxBytes ?? GROUP_MAX_BYTES;
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    const answered = new Set<string>();
    const candidates: { kind: 'h' | 'c'; hid: string }[] = [];
    for (const name of names) {
      const match = NAME.exec(name);
      if (match === null) {
        this.sweepTemp(name);
        continue;
      }
      const [, kind, hid] = match as unknown as [string, 'h' | 'c' | 'o', string];
      if (kind === 'o') answered.add(hid);
      else candidates.push({ kind, hid });
    }
    const claimed: ClaimedHandover[] = [];
    let records = 0;
    let bytes = 0;
    candidates.sort((a, b) => (a.hid < b.hid ? -1 : a.hid > b.hid ? 1 : 0));
    for (const { kind, hid } of candidates) {
      if (hid === options.skip) continue;
      if (answered.has(hid)) {
        // Answered; its waiter collects it, unless it died.
        if (this.ownerDead(hid)) this.forget(hid);
        continue;
      }
      const from = this.file(kind, hid);
      const stored = readStored(from);
      if (stored === undefined || liveness(stored.owner) !== 'alive') {
        if (stored === undefined || liveness(stored.owner) === 'dead') rmQuiet(from);
        continue;
      }
      const size = stored.units.reduce(
        (n, u) => n + u.records.reduce((m, r) => m + r.content.length, 0),
        0,
      );
      const count = stored.units.reduce((n, u) => n + u.records.length, 0);
      if (claimed.length > 0 && (records + count > maxRecords || bytes + size > maxBytes)) break;
      if (kind === 'h') {
        try {
          fs.renameSync(from, this.file('c', hid));
        } catch (error) {
          if (errnoCode(error) === 'ENOENT') continue; // withdrawn meanwhile
          throw error;
        }
      }
      const units = hydrate(stored);
      if (units === undefined) {
        // Not what its waiter wrote: it must not be committed; the waiter tries again.
        this.answer(hid, {
          ok: false,
          retry: true,
          error: { code: 'IO_ERROR', message: 'the handover was damaged', exitCode: 1 },
        });
        rmQuiet(this.file('c', hid));
        continue;
      }
      claimed.push({ hid, owner: stored.owner, units, records: count });
      records += count;
      bytes += size;
    }
    return claimed;
  }

  /** Write the outcome of `hid` (atomically: the waiter reads it whole or not at all). */
  answer(hid: string, outcome: HandoverOutcome): void {
    fs.mkdirSync(this.dir, { recursive: true });
    const tmp = `${this.dir}/t-${hid}-${randomBytes(4).toString('hex')}`;
    fs.writeFileSync(tmp, JSON.stringify(outcome));
    fs.renameSync(tmp, this.file('o', hid));
  }

  /** After answering: the claim goes, which wakes its waiter (it watches the inode). */
  release(hid: string): void {
    rmQuiet(this.file('c', hid));
  }

  private ownerDead(hid: string): boolean {
    const stored = readStored(this.file('c', hid)) ?? readStored(this.file('h', hid));
    if (stored !== undefined) return liveness(stored.owner) === 'dead';
    try {
      process.kill(hidPid(hid), 0);
      return false;
    } catch (error) {
      return errnoCode(error) === 'ESRCH';
    }
  }

  /** Temp files of offers and answers interrupted by a crash (`t-<hid>[-<rand>]`). */
  private sweepTemp(name: string): void {
    const pid = /^t-\d+-(\d+)-/.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid) return;
    try {
      process.kill(Number(pid), 0);
    } catch (error) {
      if (errnoCode(error) === 'ESRCH') rmQuiet(path.join(this.dir, name));
    }
  }
}

function readStored(file: string): StoredHandover | undefined {
  try {
    const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as StoredHandover;
    return stored.version === 1 && Array.isArray(stored.units) ? stored : undefined;
  } catch {
    return undefined;
  }
}

/** The units as rendered records again; undefined when a content hash does not match. */
function hydrate(stored: StoredHandover): HandoverUnit[] | undefined {
  const units: HandoverUnit[] = [];
  for (const unit of stored.units) {
    const records: RenderedRecord[] = [];
    for (const r of unit.records) {
      const content = Buffer.from(r.content, 'base64');
      if (sha256(content) !== r.sha256) return undefined;
      records.push({
        record: r.record,
        path: r.path,
        content,
        blobOid: r.blobOid,
        sha256: r.sha256,
        ...(r.allowedSecrets === undefined ? {} : { allowedSecrets: r.allowedSecrets }),
        ...(typeof r.scanned === 'string' ? { scanned: r.scanned } : {}),
      });
    }
    units.push({ records, ...(unit.subject === undefined ? {} : { subject: unit.subject }) });
  }
  return units;
}

/**
 * Wakes a waiter when its handover changes: the watch is on the offered file's inode, which a
 * holder renames (claimed) and, once it has answered, unlinks. Between events, `next` is a
 * timed poll, which is how a waiter notices its holder died.
 */
export class HandoverWatch {
  private watcher: fs.FSWatcher | undefined;
  private wake: (() => void) | undefined;
  private changed = false;

  constructor(file: string) {
    try {
      this.watcher = fs.watch(file, { persistent: false }, () => this.poke());
      this.watcher.on('error', () => this.close());
    } catch {
      // claimed before we watched: the first look finds it; otherwise polls alone
      this.changed = true;
    }
  }

  /** Resolves at the next change (or at once if one came since the last call), or after `ms`. */
  next(ms: number): Promise<void> {
    if (this.changed) {
      this.changed = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.poke();
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    if (wake === undefined) this.changed = true;
    else wake();
  }
}
