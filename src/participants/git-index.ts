// The git index participant: .git/index updated after main moved, under the same index.lock,
// so that native `git status` in the store stays clean. It serves only `git status`: readers
// never trust it, so a failed undo is tidied up by recovery rather than failing the abort.

import fs from 'node:fs';
import path from 'node:path';
import { entryFromStat, type IndexEntry } from '../git/index-file.js';
import { lookupPath } from '../git/tree.js';
import type { JournalEntry } from '../resources/journal.js';
import { removeDeadWritersLock, UNDO_WAIT_MS } from './git.js';
import type { Participant, Transaction, WriteContext } from './types.js';

export class GitIndexParticipant implements Participant {
  readonly name = 'index';
  readonly essential = false;
  private readonly ctx: WriteContext;
  /** The index before this transaction, and the one it staged, once staged. */
  private swapped: { before: Buffer | undefined; after: Buffer } | undefined;

  constructor(ctx: WriteContext) {
    this.ctx = ctx;
  }

  async prepare(): Promise<void> {
    // Nothing to do before the commit point: the entries need the files' final stat data.
  }

  /** Stage the index with an entry for every record, in the index held for the commit phase. */
  async commit(txn: Transaction): Promise<void> {
    const { repo, layout } = this.ctx;
    const index = txn.index;
    if (index === undefined) throw new Error('the commit phase holds .git/index');
    const entries: IndexEntry[] = txn.records.map((r) =>
      entryFromStat(
        r.path,
        r.blobOid,
        fs.lstatSync(path.join(layout.dir, r.path), { bigint: true }),
      ),
    );
    const tree = txn.units[txn.units.length - 1]!.tree!;
    const next = await repo.nextIndex(index.current, entries, [], tree);
    index.stage(next);
    this.swapped = { before: index.current, after: next };
  }

  /** Put the old index back, if .git/index is still the one this transaction left. */
  async rollback(): Promise<void> {
    const swapped = this.swapped;
    if (swapped === undefined) return;
    await this.ctx.gitIndex.acquire(
      Math.max(this.ctx.deadline, Date.now() + UNDO_WAIT_MS),
      async (index) => {
        if (index.current === undefined || !index.current.equals(swapped.after)) return;
        if (swapped.before === undefined) index.stageRemoval();
        else index.stage(swapped.before);
      },
    );
    this.swapped = undefined;
  }

  /**
   * Clear index.lock if the dead writer left it, then make the index agree with HEAD for the
   * entry's paths: present with the committed blob, or absent.
   */
  async recover(entry: JournalEntry): Promise<void> {
    const { repo, gitIndex } = this.ctx;
    await removeDeadWritersLock(`${repo.indexPath}.lock`, Date.parse(entry.created) - 1000);
    const headTree = await repo.headTree();
    if (headTree === undefined) return;
    const current = repo.indexEntries();
    const upsert: IndexEntry[] = [];
    const remove: string[] = [];
    for (const record of entry.records) {
      const inHead = await lookupPath(repo.objects, headTree, record.path);
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
    await gitIndex.acquire(this.ctx.deadline, async (index) => {
      index.stage(
        current === undefined
          ? await repo.buildIndex(headTree)
          : await repo.nextIndex(index.current, upsert, remove, headTree),
      );
    });
  }
}
