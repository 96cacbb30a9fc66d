// The git participant: blobs, trees and the commit written and fsynced first; then main moved
// by compare-and-swap (the commit point); then the index, under git's own index.lock, so that
// native `git status` in the store stays clean.

import fs from 'node:fs';
import path from 'node:path';
import { TransactionError } from '../errors/index.js';
import { entryFromStat, type IndexEntry } from '../git/index-file.js';
import type { GitLockFile } from '../git/lockfile.js';
import { MAIN_REF, readRef } from '../git/refs.js';
import { lookupPath } from '../git/tree.js';
import { checkpoint } from '../txn/faults.js';
import type { JournalEntry } from '../txn/journal.js';
import type { Outcome, Participant, Transaction, WriteContext } from '../txn/types.js';

export class GitParticipant implements Participant {
  readonly name = 'git';
  private readonly ctx: WriteContext;
  private indexLock: GitLockFile | undefined;
  private oldIndex: Buffer | undefined;
  private refMoved = false;
  private indexWritten = false;

  constructor(ctx: WriteContext) {
    this.ctx = ctx;
  }

  async prepare(txn: Transaction): Promise<void> {
    const { repo, author } = this.ctx;
    const blobs = new Map(txn.records.map((r) => [r.blobOid, r.content] as const));
    const { commit, tree } = await repo.writeCommit({
      parent: txn.parent,
      changes: txn.records.map((r) => ({ path: r.path, blobOid: r.blobOid })),
      blobs,
      message: txn.message,
      author,
      time: Math.floor(txn.time.getTime() / 1000),
      onProgress: txn.onProgress,
    });
    txn.commit = commit;
    txn.tree = tree;
    // Native git takes index.lock before it touches main; so do we, and hold it until the end.
    this.indexLock = repo.lockIndex();
    this.oldIndex = repo.readIndex();
  }

  async commit(txn: Transaction): Promise<void> {
    const { repo, layout } = this.ctx;
    repo.moveMain(txn.parent, txn.commit!);
    this.refMoved = true;
    await checkpoint('ref');
    const entries: IndexEntry[] = txn.records.map((r) =>
      entryFromStat(
        r.path,
        r.blobOid,
        fs.lstatSync(path.join(layout.dir, r.path), { bigint: true }),
      ),
    );
    const next = await repo.nextIndex(this.oldIndex, entries, [], txn.tree!);
    this.indexLock!.write(next, true);
    this.indexLock!.commit(false);
    this.indexWritten = true;
    this.indexLock = undefined;
    await checkpoint('index');
  }

  async rollback(txn: Transaction): Promise<void> {
    const { repo } = this.ctx;
    try {
      if (this.refMoved) {
        if (txn.parent === undefined) throw new Error('a transaction always has a parent commit');
        repo.moveMain(txn.commit, txn.parent);
        this.refMoved = false;
      }
      if (this.indexWritten) {
        const lock = this.indexLock ?? repo.lockIndex();
        this.indexLock = lock;
        if (this.oldIndex === undefined) {
          lock.release();
          fs.rmSync(repo.indexPath, { force: true });
        } else {
          lock.write(this.oldIndex, true);
          lock.commit(false);
        }
        this.indexWritten = false;
      }
    } catch (error) {
      throw new TransactionError(
        'ROLLBACK_FAILED',
        `could not undo the git commit ${txn.commit}: ${(error as Error).message}. Run \`lessons recover\`.`,
        { cause: error },
      );
    } finally {
      this.indexLock?.release();
      this.indexLock = undefined;
    }
  }

  /**
   * Clear git lock files a dead writer of this entry left, then make the index agree with
   * HEAD for the entry's paths: present with the committed blob, or absent.
   */
  async recover(entry: JournalEntry, _outcome: Outcome): Promise<void> {
    const { repo } = this.ctx;
    const started = Date.parse(entry.created) - 1000;
    for (const target of [path.join(repo.gitdir, MAIN_REF), repo.indexPath]) {
      try {
        if (fs.statSync(`${target}.lock`).mtimeMs >= started) repo.removeLockFile(target);
      } catch {
        // no lock file
      }
    }
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
    const lock = repo.lockIndex();
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
