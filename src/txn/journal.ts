// Intent records of transactions in flight: .lessons/journal/<txid>.json, written and fsynced
// (with its directory) before anything else changes, removed when the transaction ends.
// Whatever a crash leaves behind, recovery reads here.

import fs from 'node:fs';
import path from 'node:path';
import type { ProcessIdentity } from '../store/owner.js';
import { errnoCode, mkdirDurable, writeFileAtomic } from '../util/durable.js';

export interface JournalRecord {
  readonly id: string;
  readonly kind: 'failure' | 'heuristic';
  readonly path: string;
  readonly sha256: string;
  readonly blobOid: string;
}

export interface JournalEntry {
  readonly version: 1;
  readonly txid: string;
  readonly owner: ProcessIdentity;
  /** ISO time the transaction started. */
  readonly created: string;
  /** The commit main pointed to when the transaction started. */
  readonly parent: string | null;
  readonly records: readonly JournalRecord[];
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

export class Journal {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  fileFor(txid: string): string {
    return path.join(this.dir, `${txid}.json`);
  }

  write(entry: JournalEntry): void {
    mkdirDurable(this.dir);
    writeFileAtomic(this.fileFor(entry.txid), JSON.stringify(entry));
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
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return [];
      throw error;
    }
    const files: JournalFile[] = [];
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      const file = path.join(this.dir, name);
      const txid = name.slice(0, -'.json'.length);
      let mtimeMs = 0;
      try {
        mtimeMs = fs.statSync(file).mtimeMs;
        const entry = JSON.parse(fs.readFileSync(file, 'utf8')) as JournalEntry;
        if (entry.version !== 1 || entry.txid !== txid || !Array.isArray(entry.records))
          throw new Error('unexpected shape');
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
