// Intent records of transactions in flight: .lessons/journal/<txid>.json, written and fsynced
// (with its directory) before anything else changes, removed when the transaction ends.
// Whatever a crash leaves behind, recovery reads here.

import fs from 'node:fs';
import path from 'node:path';
import type { ConflictNote } from './conflicts.js';
import type { ProcessIdentity } from './owner.js';
import { errnoCode, jsonFileNames, mkdirDurable, writeFileAtomic } from '../util/durable.js';

export interface JournalRecord {
  readonly id: string;
  readonly kind: 'failure' | 'heuristic' | 'event';
  readonly path: string;
  readonly sha256: string;
  readonly blobOid: string;
}

/**
 * `pending` while the transaction runs; `aborted` once its writer decided to undo it. Recovery
 * rolls an aborted entry back whatever main holds, so an exit 1 never turns into a stored record.
 */
export type JournalState = 'pending' | 'aborted';

/** One path an integration changes: its blob before and after (null: absent). */
export interface IntegratedPath {
  readonly path: string;
  readonly before: string | null;
  readonly after: string | null;
  /** The git mode of `after` (100644, or 100755 for an executable file). */
  readonly mode: string | null;
  /** The commit that brought `after` (the row's commit_oid). */
  readonly commit: string;
}

/**
 * What a sync integrates (src/sync/): main moves from `from` to `to` (the fetched commit, or
 * a merge commit written before this entry), and `changes` are the paths whose blobs differ.
 */
export interface IntegrateIntent {
  readonly remote: string;
  /** The fetched commit of the remote's main. */
  readonly fetched: string;
  readonly from: string | null;
  readonly to: string;
  readonly merge: boolean;
  readonly changes: readonly IntegratedPath[];
  readonly conflicts: readonly ConflictNote[];
}

export interface JournalEntry {
  /** Always the first field: an abort overwrites its bytes in place (see markAborted). */
  readonly state?: JournalState;
  readonly version: 1;
  readonly txid: string;
  readonly owner: ProcessIdentity;
  /** ISO time the transaction started. */
  readonly created: string;
  /** The commit main pointed to when the transaction started. */
  readonly parent: string | null;
  readonly records: readonly JournalRecord[];
  /**
   * Group commit: the handovers of waiting writers this transaction carries, each with its
   * units' record ids (final, after any renumbering), so that recovery can tell each waiter
   * what became of its records.
   */
  readonly handovers?: readonly JournalHandover[];
  /** Present for a sync's integration, whose `records` is empty. */
  readonly integrate?: IntegrateIntent;
}

export interface JournalHandover {
  readonly hid: string;
  /** Record ids of each of the handover's units, in order. */
  readonly units: readonly (readonly string[])[];
}

/** One file found in the journal folder. */
export interface JournalFile {
  readonly txid: string;
  readonly file: string;
  readonly mtimeMs: number;
  /** The parsed entry, or undefined when the file is torn or unreadable. */
  readonly entry: JournalEntry | undefined;
  readonly problem?: string;
}

/** How every entry begins, by state: the same length, so one can overwrite the other. */
const STATE_PREFIX: Readonly<Record<JournalState, string>> = {
  pending: '{"state":"pending",',
  aborted: '{"state":"aborted",',
};

export class Journal {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  fileFor(txid: string): string {
    return path.join(this.dir, `${txid}.json`);
  }

  /** Write a new entry (state pending), durably. */
  write(entry: JournalEntry): void {
    mkdirDurable(this.dir);
    const { state: _state, ...rest } = entry;
    writeFileAtomic(
      this.fileFor(entry.txid),
      `${STATE_PREFIX.pending}${JSON.stringify(rest).slice(1)}`,
    );
  }

  /**
   * Make the decision to abort durable before anything is undone: the state's bytes, at a fixed
   * offset, are overwritten in place ("pending" and "aborted" have the same length) and fsynced.
   * Overwriting bytes of an allocated block needs no new block, so this works on a full disk,
   * where undoing (a new ref lock file, a new index) may not.
   */
  markAborted(txid: string): void {
    const fd = fs.openSync(this.fileFor(txid), 'r+');
    try {
      const head = Buffer.alloc(STATE_PREFIX.pending.length);
      fs.readSync(fd, head, 0, head.length, 0);
      const text = head.toString('utf8');
      if (text === STATE_PREFIX.aborted) return;
      if (text !== STATE_PREFIX.pending)
        throw new Error(`journal entry ${txid} does not start with its state`);
      const aborted = Buffer.from(STATE_PREFIX.aborted, 'utf8');
      if (fs.writeSync(fd, aborted, 0, aborted.length, 0) !== aborted.length)
        throw new Error(`short write marking journal entry ${txid} aborted`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  remove(txid: string): void {
    try {
      fs.unlinkSync(this.fileFor(txid));
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
    }
  }

  /** Every entry, oldest first; torn entries are reported, not fatal. */
  list(): JournalFile[] {
    const files: JournalFile[] = [];
    for (const name of jsonFileNames(this.dir)) {
      const file = path.join(this.dir, name);
      const txid = name.slice(0, -'.json'.length);
      let mtimeMs = 0;
      try {
        mtimeMs = fs.statSync(file).mtimeMs;
        const entry = JSON.parse(fs.readFileSync(file, 'utf8')) as JournalEntry;
        if (entry.version !== 1 || entry.txid !== txid || !Array.isArray(entry.records))
          throw new Error('unexpected shape');
        if (entry.state !== undefined && entry.state !== 'pending' && entry.state !== 'aborted')
          throw new Error(`unknown state ${JSON.stringify(entry.state)}`);
        files.push({ txid, file, mtimeMs, entry });
      } catch (error) {
        if (errnoCode(error) === 'ENOENT') continue;
        files.push({ txid, file, mtimeMs, entry: undefined, problem: (error as Error).message });
      }
    }
    return files;
  }

  /** Temp files of interrupted journal writes. */
  strays(): string[] {
    try {
      return fs
        .readdirSync(this.dir)
        .filter((n) => n.includes('.tmp-'))
        .map((n) => path.join(this.dir, n));
    } catch {
      return [];
    }
  }
}
