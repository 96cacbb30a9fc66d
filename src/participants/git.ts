// The git participant: blobs, trees and commits written and fsynced first; then main moved by
// compare-and-swap, which is the commit point of the whole transaction. One commit per unit,
// chained in order, so history reads one caller's records per commit even when a group of
// callers shares one transaction.
//
// A person may use git in the store meanwhile. A ref update of theirs can move main under us:
// the commits are rebuilt on the new main and the swap tried again (bounded, jittered). Their
// git holds main.lock for moments: we wait for it.

import fs from 'node:fs';
import path from 'node:path';
import pRetry, { AbortError } from 'p-retry';
import { LockTimeoutError, RefMovedError, TransactionError } from '../errors/index.js';
import { MAIN_REF } from '../git/refs.js';
import { lookupPath } from '../git/tree.js';
import type { JournalEntry } from '../resources/journal.js';
import type { Outcome, Participant, Transaction, WriteContext } from './types.js';

/** How many times the commits are rebuilt on a main that moved before the writer gives up (exit 3). */
export const MAX_REBUILDS = 50;

/** How long an undo waits for native git's locks, beyond the transaction's own deadline. */
export const UNDO_WAIT_MS = 10_000;

/** A lock file native git holds lives for moments; one older than this was left by a crash. */
const ABANDONED_LOCK_MS = 2000;

/**
 * Remove a git lock file a dead writer may have left: one made after its transaction started.
 * Native git may hold the same file for a moment meanwhile, so a young one is given time to go
 * away first; only one that stays is removed.
 */
export async function removeDeadWritersLock(lockPath: string, since: number): Promise<void> {
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
  readonly essential = true;
  private readonly ctx: WriteContext;
  private refMoved = false;

  constructor(ctx: WriteContext) {
    this.ctx = ctx;
  }

  /** Write the blobs, the trees and one commit per unit on `txn.parent`; nothing is visible yet. */
  async prepare(txn: Transaction): Promise<void> {
    const blobs = new Map(txn.records.map((r) => [r.blobOid, r.content] as const));
    // A group (many small commits): one fsync pass for every object of every unit.
    const { objects } = this.ctx.repo;
    if (txn.units.length === 1) {
      await this.build(txn, txn.parent, blobs);
      return;
    }
    objects.beginBatch();
    try {
      await this.build(txn, txn.parent, blobs);
      await objects.flushBatch();
    } catch (error) {
      objects.discardBatch();
      throw error;
    }
  }

  private async build(
    txn: Transaction,
    parent: string | undefined,
    blobs?: ReadonlyMap<string, Uint8Array>,
  ): Promise<void> {
    let base = parent;
    for (const [i, unit] of txn.units.entries()) {
      const { commit, tree } = await this.ctx.repo.writeCommit({
        parent: base,
        changes: unit.records.map((r) => ({ path: r.path, blobOid: r.blobOid })),
        // Every blob goes in with the first commit (one pack for an import); the rest reuse them.
        ...(blobs === undefined || i > 0 ? {} : { blobs }),
        message: unit.message,
        author: this.ctx.author,
        time: Math.floor(txn.time.getTime() / 1000),
        onProgress: txn.onProgress,
      });
      unit.commit = commit;
      unit.tree = tree;
      base = commit;
    }
    txn.parent = parent;
  }

  /**
   * Move main from the parent to the last commit: the commit point. When main moved under us,
   * rebuild the commits on the new main and try again, up to MAX_REBUILDS times within the
   * deadline; spent, that is a busy store (exit 3), and nothing was stored.
   */
  async commit(txn: Transaction): Promise<void> {
    const { deadline, repo } = this.ctx;
    await pRetry(
      async () => {
        try {
          this.ctx.lock.assertHeld();
          await repo.moveMainWaiting(txn.parent, lastCommit(txn), deadline);
          this.refMoved = true;
        } catch (error) {
          if (!(error instanceof RefMovedError)) throw new AbortError(error as Error);
          const actual = error.data.actual as string | null;
          // A main that vanished is not ours to build on.
          if (actual === null) throw new AbortError(error);
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
      throw error;
    });
  }

  /** Move main back, if it moved. Required: until it is done, the records are on main. */
  async rollback(txn: Transaction): Promise<void> {
    if (!this.refMoved) return;
    try {
      if (txn.parent === undefined) throw new Error('a transaction always has a parent commit');
      await this.ctx.repo.moveMainWaiting(
        lastCommit(txn),
        txn.parent,
        Math.max(this.ctx.deadline, Date.now() + UNDO_WAIT_MS),
      );
      this.refMoved = false;
    } catch (error) {
      throw new TransactionError(
        'ROLLBACK_FAILED',
        `could not move main back from ${lastCommit(txn)} to ${txn.parent}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /**
   * Clear main.lock if the dead writer left it. An aborted transaction whose commit main still
   * holds is taken off main: by compare-and-swap back to its parent when main still points at
   * it; when someone committed on top meanwhile (a person's own git), their commit is kept and
   * a new commit removes the transaction's files, so HEAD holds none of it (history still does).
   */
  async recover(entry: JournalEntry, outcome: Outcome): Promise<void> {
    const { repo } = this.ctx;
    await removeDeadWritersLock(
      `${path.join(repo.gitdir, MAIN_REF)}.lock`,
      Date.parse(entry.created) - 1000,
    );
    if (outcome.committed || !outcome.aborted || outcome.commit === undefined) return;
    const head = repo.head();
    if (head === outcome.commit && outcome.base !== undefined) {
      this.ctx.lock.assertHeld();
      await repo.moveMainWaiting(outcome.commit, outcome.base, this.ctx.deadline);
      return;
    }
    const tree = await repo.headTree();
    if (tree === undefined || head === undefined) return;
    const present: string[] = [];
    for (const record of entry.records)
      if ((await lookupPath(repo.objects, tree, record.path))?.oid === record.blobOid)
        present.push(record.path);
    if (present.length === 0) return;
    const written = await repo.writeCommit({
      parent: head,
      changes: present.map((p) => ({ path: p, blobOid: undefined })),
      message: `lessons: undo aborted transaction ${entry.txid}\n\nLessons-Undo-Txid: ${entry.txid}\n`,
      author: this.ctx.author,
      time: Math.floor(Date.now() / 1000),
    });
    this.ctx.lock.assertHeld();
    await repo.moveMainWaiting(head, written.commit, this.ctx.deadline);
  }
}

/** The commit main moves to: the last unit's. */
export function lastCommit(txn: Transaction): string {
  const commit = txn.units[txn.units.length - 1]?.commit;
  if (commit === undefined) throw new Error('the transaction has no commit yet');
  return commit;
}
