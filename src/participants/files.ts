// The file-system participant: each record's Markdown file, written atomically and durably:
// a temp file fsynced beside its target before the commit point, renamed into place after.

import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { sha256 } from '../git/hash.js';
import { recordFolderTarget, recordTarget } from '../resources/layout.js';
import type { JournalEntry } from '../resources/journal.js';
import type { Outcome, Participant, Transaction, WriteContext } from './types.js';
import {
  fsyncDir,
  mkdirDurable,
  readIfExists,
  rmQuiet,
  tempPathFor,
  unlinkIfExists,
  writeFileAtomic,
} from '../util/durable.js';

/** Files written, then fsynced together, per batch (bounded to keep few descriptors open). */
const SYNC_BATCH = 256;

/** From this many files on, one syncfs replaces the fsync of each. */
const SYNCFS_FROM = 256;

const fsyncAsync = promisify(fs.fsync);

/** syncfs(2) of the file system holding `file`; false where it cannot be done. */
function syncFileSystem(file: string): boolean {
  if (process.platform !== 'linux') return false;
  try {
    // Loaded here, not imported: child_process (with net and dgram) costs a single record's
    // cold start ~5 ms of CPU, and only large batches come here.
    const { execFileSync } = process.getBuiltinModule('node:child_process');
    execFileSync('sync', ['--file-system', file], { stdio: 'ignore', timeout: 120_000 });
    return true;
  } catch {
    return false;
  }
}

/** fsync each file, a batch at a time in parallel. */
async function fsyncEach(files: readonly string[]): Promise<void> {
  for (let start = 0; start < files.length; start += SYNC_BATCH) {
    const fds = files.slice(start, start + SYNC_BATCH).map((f) => fs.openSync(f, 'r'));
    try {
      await Promise.all(fds.map((fd) => fsyncAsync(fd)));
    } finally {
      for (const fd of fds) fs.closeSync(fd);
    }
  }
}

/**
 * Make `files` durable together: one syncfs for many (see FilesParticipant.prepare), else
 * their fsyncs in parallel batches.
 */
export async function syncFiles(files: readonly string[]): Promise<void> {
  if (files.length >= SYNCFS_FROM && syncFileSystem(files[0]!)) return;
  await fsyncEach(files);
}

export class FilesParticipant implements Participant {
  readonly name = 'files';
  readonly essential = true;
  private readonly ctx: WriteContext;
  /** Temp files written by prepare(), each with the record file it becomes. */
  private staged: { tmp: string; target: string }[] = [];
  /** Record files renamed into place by commit(). */
  private placed: string[] = [];

  constructor(ctx: WriteContext) {
    this.ctx = ctx;
  }

  /**
   * Write every file to a temp name beside its target and fsync it: durable, and not yet a
   * record file. The fsyncs of a batch run in parallel, so the file system can commit its
   * journal once for many of them. A large transaction (an import) syncs its whole file system
   * once instead (syncfs, through coreutils' `sync --file-system`): on ext4 that is one journal
   * commit for thousands of files rather than one per handful; where that command is missing
   * or fails, each file is fsynced after all.
   */
  async prepare(txn: Transaction): Promise<void> {
    const dirs = new Set<string>();
    const verified = new Set<string>();
    const bulk = txn.records.length >= SYNCFS_FROM;
    for (let start = 0; start < txn.records.length; start += SYNC_BATCH) {
      const open: number[] = [];
      try {
        for (const record of txn.records.slice(start, start + SYNC_BATCH)) {
          // The coordinator refused existing paths and links under this same lock, before the
          // journal: only the folders (one lstat each per transaction) are looked at again.
          const target = recordFolderTarget(this.ctx.layout, record.path, verified);
          const dir = path.dirname(target);
          if (!dirs.has(dir)) mkdirDurable(dir);
          dirs.add(dir);
          const tmp = tempPathFor(target);
          const fd = fs.openSync(tmp, 'wx', 0o644);
          open.push(fd);
          this.staged.push({ tmp, target });
          fs.writeSync(fd, record.content);
        }
        if (!bulk) await Promise.all(open.map((fd) => fsyncAsync(fd)));
        txn.onProgress?.(this.staged.length, txn.records.length, 'writing files');
      } finally {
        for (const fd of open) fs.closeSync(fd);
      }
    }
    if (bulk && !syncFileSystem(this.staged[0]!.tmp))
      await fsyncEach(this.staged.map((f) => f.tmp));
  }

  /** Rename every temp file over its record path, then fsync their folders. */
  async commit(): Promise<void> {
    const dirs = new Set<string>();
    for (const { tmp, target } of this.staged) {
      // Tracked before renaming, so a rollback removes whatever made it into place.
      this.placed.push(target);
      fs.renameSync(tmp, target);
      dirs.add(path.dirname(target));
    }
    this.staged = [];
    for (const dir of dirs) fsyncDir(dir);
  }

  /** Remove the temp files and the record files this transaction wrote. */
  async rollback(): Promise<void> {
    for (const { tmp } of this.staged) rmQuiet(tmp);
    this.staged = [];
    const dirs = new Set<string>();
    for (const target of this.placed.reverse()) {
      if (unlinkIfExists(target)) dirs.add(path.dirname(target));
    }
    this.placed = [];
    for (const dir of dirs) fsyncDir(dir);
  }

  /**
   * Committed: every file holds exactly its committed bytes. Not: files this transaction wrote
   * (recognised by their hash) are removed. Temp files go either way.
   */
  async recover(entry: JournalEntry, outcome: Outcome): Promise<void> {
    for (const record of entry.records) {
      const target = recordTarget(this.ctx.layout, record.path);
      removeTempFiles(target);
      const current = readIfExists(target);
      if (outcome.committed) {
        if (current === undefined || sha256(current) !== record.sha256) {
          const content = await this.ctx.repo.objects.readTyped(record.blobOid, 'blob');
          mkdirDurable(path.dirname(target));
          writeFileAtomic(target, content);
        }
      } else if (current !== undefined && sha256(current) === record.sha256) {
        fs.unlinkSync(target);
        fsyncDir(path.dirname(target));
      }
    }
  }
}

/** Remove `<target>.tmp-*` files left by an interrupted atomic write. */
function removeTempFiles(target: string): void {
  const dir = path.dirname(target);
  const prefix = `${path.basename(target)}.tmp-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) if (name.startsWith(prefix)) rmQuiet(path.join(dir, name));
}
