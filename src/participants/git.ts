// The git participant: blobs, trees and the commit written and fsynced first; then main moved
// by compare-and-swap (the commit point); then the index, under git's own index.lock, so that
// native `git status` in the store stays clean.
//
// A person may use git in the store meanwhile. Their commit moves main under us: the commit is
// rebuilt on the new parent and the swap tried again (bounded, jittered). Their git holds
// index.lock or main.lock for moments: we wait for it. And we hold index.lock only around the
// swap and the index write, so their own `git commit` is kept waiting as little as possible.

import fs from 'node:fs';
import path from 'node:path';
import pRetry, { AbortError } from 'p-retry';
import {
  GitLockedError,
  LockTimeoutError,
  RefMovedError,
  TransactionError,
} from '../errors/index.js';
import { entryFromStat, type IndexEntry } from '../git/index-file.js';
import { type GitLockFile } from '../git/lockfile.js';
import { MAIN_REF, readRef } from '../git/refs.js';
import { lookupPath } from '../git/tree.js';
import { checkpoint } from '../util/faults.js';
import type { JournalEntry } from '../resources/journal.js';
import type { Outcome, Participant, Transaction, WriteContext } from './types.js';

/** How many times a commit is rebuilt on a main that moved before the writer gives up (exit 3). */
export const MAX_REBUILDS = 50;

/** How long an undo waits for native git's locks, beyond the transaction's own deadline. */
const UNDO_WAIT_MS = 10_000;

/** A lock file native git holds lives for moments; one older than this was left by a crash. */
const ABANDONED_LOCK_MS = 2000;

/**
 * Remove a git lock file the dead writer may have left: one made after its transaction
 * started. Native git may hold the same file for a moment meanwhile, so a young one is given
 * time to go away first; only one that stays is removed.
 */
async function removeDeadWritersLock(lockPath: string, since: number): Promise<void> {
  for (;;) {
    const stat = fs.statSync(lockPath, { throwIfNoEntry: false });
    if (stat === undefined || stat.mtimeMs < since) return;
    const age = Date.now() - stat.mtimeMs;
    if (age >= ABANDONED_LOCK_MS) {
      const again = fs.statSync(lockPath, { throwIfNoEntry: false });
      if (again?.ino === stat.ino) fs.rmSync(lockPath, { force: true });
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(200, ABANDONED_LOCK_MS - age)));
  }
}

export class GitParticipant implements Participant {
  readonly name = 'git';
  private readonly ctx: WriteContext;
  private oldIndex: Buffer | undefined;
  private refMoved = false;
  private indexWritten = false;

  constructor(ctx: WriteContext) {
    this.ctx = ctx;
  }

  /** Write the blobs, the trees and the commit on `txn.parent`; nothing is visible yet. */
  async prepare(txn: Transaction): Promise<void> {
    const blobs = new Map(txn.records.map((r) => [r.blobOid, r.content] as const));
    await this.build(txn, txn.parent, blobs);
  }

  private async build(
    txn: Transaction,
    parent: string | undefined,
    blobs?: ReadonlyMap<string, Uint8Array>,
  ): Promise<void> {
    const { commit, tree } = await this.ctx.repo.writeCommit({
      parent,
      changes: txn.records.map((r) => ({ path: r.path, blobOid: r.blobOid })),
      ...(blobs === undefined ? {} : { blobs }),
      message: txn.message,
      author: this.ctx.author,
      time: Math.floor(txn.time.getTime() / 1000),
      onProgress: txn.onProgress,
    });
    txn.parent = parent;
    txn.commit = commit;
    txn.tree = tree;
  }

  /**
   * Move main (the commit point), then the index. When main moved under us, rebuild the commit
   * on the new parent and try again, up to MAX_REBUILDS times within the deadline; spent, that
   * is a busy store (exit 3), and nothing was stored.
   */
  async commit(txn: Transaction): Promise<void> {
    const { deadline } = this.ctx;
    await pRetry(
      async () => {
        try {
          await this.swap(txn);
        } catch (error) {
          if (!(error instanceof RefMovedError)) throw new AbortError(error as Error);
          const actual = error.data.actual as string | null;
          // A main that vanished, or a swap already made, is not ours to build on.
          if (actual === null || this.refMoved) throw new AbortError(error);
          await this.build(txn, actual);
          throw error;
        }
      },
      {
        retries: MAX_REBUILDS,
        minTimeout: 2,
        maxTimeout: 50,
        factor: 1.5,
        randomize: true,
        shouldRetry: () => Date.now() < deadline,
      },
    ).catch((error: unknown) => {
      if (error instanceof RefMovedError)
        throw new LockTimeoutError(
          `The store is busy: refs/heads/main kept moving (someone else is committing to the store) and the record could not be committed on top within the lock timeout, after up to ${MAX_REBUILDS} attempts. Nothing was stored; try again or raise --lock-timeout.`,
          { data: { reason: 'REF_MOVED' }, cause: error },
        );
      if (error instanceof GitLockedError)
        throw new LockTimeoutError(
          `The store is busy: git's lock file ${String(error.data.lockPath)} was held for the whole lock timeout. ` +
            `A git command is running in the store; if none is, remove that file and try again. Nothing was stored.`,
          { data: { lockPath: error.data.lockPath }, cause: error },
        );
      throw error;
    });
    await checkpoint('index');
  }

  /** One attempt: index.lock, the swap, the new index. index.lock is held only for this. */
  private async swap(txn: Transaction): Promise<void> {
    const { repo, layout, deadline } = this.ctx;
    const lock = await repo.lockIndexWaiting(deadline);
    try {
      const oldIndex = repo.readIndex();
      this.ctx.lock.assertHeld();
      await repo.moveMainWaiting(txn.parent, txn.commit!, deadline);
      this.refMoved = true;
      this.oldIndex = oldIndex;
      await checkpoint('ref');
      const entries: IndexEntry[] = txn.records.map((r) =>
        entryFromStat(
          r.path,
          r.blobOid,
          fs.lstatSync(path.join(layout.dir, r.path), { bigint: true }),
        ),
      );
      const next = await repo.nextIndex(oldIndex, entries, [], txn.tree!);
      lock.write(next, true);
      lock.commit(false);
      this.indexWritten = true;
    } finally {
      lock.release();
    }
  }

  /** Move main back, if it moved. Required: until it is done, the record is on main. */
  async rollback(txn: Transaction): Promise<void> {
    if (!this.refMoved) return;
    try {
      if (txn.parent === undefined) throw new Error('a transaction always has a parent commit');
      await this.ctx.repo.moveMainWaiting(txn.commit, txn.parent, this.undoDeadline());
      this.refMoved = false;
    } catch (error) {
      throw new TransactionError(
        'ROLLBACK_FAILED',
        `could not move main back from ${txn.commit} to ${txn.parent}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /**
   * Put the old index back, if a new one was written. Best effort: the index only serves
   * `git status`, and recovery makes it agree with HEAD for the transaction's paths.
   */
  async restoreIndex(): Promise<void> {
    if (!this.indexWritten) return;
    const { repo } = this.ctx;
    let lock: GitLockFile | undefined;
    try {
      lock = await repo.lockIndexWaiting(this.undoDeadline());
      if (this.oldIndex === undefined) {
        lock.release();
        fs.rmSync(repo.indexPath, { force: true });
      } else {
        lock.write(this.oldIndex, true);
        lock.commit(false);
      }
      this.indexWritten = false;
    } catch (error) {
      throw new TransactionError(
        'ROLLBACK_FAILED',
        `could not restore .git/index: ${(error as Error).message}`,
        { cause: error },
      );
    } finally {
      lock?.release();
    }
  }

  private undoDeadline(): number {
    return Math.max(this.ctx.deadline, Date.now() + UNDO_WAIT_MS);
  }

  /**
   * Clear git lock files a dead writer of this entry left, then make the index agree with
   * HEAD for the entry's paths: present with the committed blob, or absent.
   */
  async recover(entry: JournalEntry, _outcome: Outcome): Promise<void> {
    const { repo } = this.ctx;
    const started = Date.parse(entry.created) - 1000;
    for (const target of [path.join(repo.gitdir, MAIN_REF), repo.indexPath])
      await removeDeadWritersLock(`${target}.lock`, started);
    const head = readRef(repo.gitdir, MAIN_REF);
    const headTree = head === undefined ? undefined : await repo.headTree();
    const current = repo.indexEntries();
    const upsert: IndexEntry[] = [];
    const remove: string[] = [];
    for (const record of entry.records) {
      const inHead =
        headTree === undefined ? undefined : await lookupPath(repo.objects, headTree, record.path);
      const inIndex = current?.get(record.path);
      if (inHead !== undefined) {
        if (inIndex?.oid !== inHead.oid)
          upsert.push(
            entryFromStat(record.path, inHead.oid, repo.statIfMatches(record.path, inHead.oid)),
          );
      } else if (inIndex !== undefined) {
        remove.push(record.path);
      }
    }
    if (current !== undefined && upsert.length === 0 && remove.length === 0) return;
    if (headTree === undefined) return;
    const lock = await repo.lockIndexWaiting(this.ctx.deadline);
    try {
      const next =
        current === undefined
          ? await repo.buildIndex(headTree)
          : await repo.nextIndex(repo.readIndex(), upsert, remove, headTree);
      lock.write(next, true);
      lock.commit(false);
    } finally {
      lock.release();
    }
  }
}
