// The contract between the coordinator (txn/) and the stores that take part in a transaction,
// and what they share about one transaction.

import type { Database } from '../db/database.js';
import type { Signature } from '../git/commit.js';
import type { GitRepository } from '../git/repository.js';
import type { RenderedRecord } from '../record/types.js';
import type { HeldIndex, GitIndexManager } from '../resources/git-index.js';
import type { Journal, JournalEntry } from '../resources/journal.js';
import type { StoreLayout } from '../resources/layout.js';
import type { HeldLock } from '../resources/lock.js';
import type { OnProgress } from '../util/progress.js';

/** Everything a writer holds while it has the writers' lock. */
export interface WriteContext {
  readonly layout: StoreLayout;
  readonly repo: GitRepository;
  readonly db: Database;
  readonly journal: Journal;
  /** The one way to change .git/index (index.lock, as native git takes it). */
  readonly gitIndex: GitIndexManager;
  readonly author: Signature;
  readonly lock: HeldLock;
  /** Epoch ms until which waiting for native git's lock files is worth it (--lock-timeout). */
  readonly deadline: number;
}

/**
 * One caller's share of a transaction: its records, committed as one commit of their own.
 * A transaction of several units (a group commit) chains their commits in order and moves
 * main once, to the last: all of them are stored, or none.
 */
export interface Unit {
  readonly records: readonly RenderedRecord[];
  readonly message: string;
  /** Set by the git participant: the commit holding this unit, and its tree. */
  commit?: string;
  tree?: string;
}

export interface Transaction {
  readonly txid: string;
  readonly units: readonly Unit[];
  /** Every record of every unit, in order. */
  readonly records: readonly RenderedRecord[];
  /** Progress of a large transaction (an import), reported by the participants. */
  readonly onProgress?: OnProgress | undefined;
  /**
   * The parent of the first commit: main when the lock was taken, or, if main moved under the
   * transaction (a person's own git), the commit it was rebuilt on.
   */
  parent: string | undefined;
  /** Commit time. */
  readonly time: Date;
  /** Record id -> rowid, set by the SQLite participant. */
  readonly rowids: Map<string, number>;
  /** .git/index, held (index.lock) for the commit phase: from the move of main to the new index. */
  index?: HeldIndex | undefined;
}

/** What recovery decided for a journal entry. */
export type Outcome =
  | {
      readonly committed: true;
      /** The newest commit of the transaction on main. */
      readonly commit: string;
      readonly tree: string;
      /** Record id -> the commit that holds it (several, for a group). */
      readonly commits: ReadonlyMap<string, string>;
    }
  | {
      readonly committed: false;
      /** The writer decided to abort (so main may still hold its commit, to be taken off). */
      readonly aborted: boolean;
      /** The transaction's newest commit, when main holds it despite the abort. */
      readonly commit?: string | undefined;
      /** The parent of the transaction's first commit, where main goes back to. */
      readonly base?: string | undefined;
    };

/**
 * One store taking part in a transaction; each step means the same for every participant:
 *
 * - prepare(): everything that can fail before the commit point, durable and not yet in
 *   effect: nothing a reader trusts changes.
 * - commit(): put it into effect. The git participant's commit moves main: the commit point.
 *   The others follow it and must not undo it; a failure there aborts the transaction.
 * - rollback(): undo whatever prepare() and commit() did; safe to call at any point, and
 *   more than once.
 * - recover(): bring this store in line with the outcome of a transaction a crash left in
 *   the journal. Idempotent: a crash during recovery is recovered by the next run.
 */
export interface Participant {
  readonly name: 'files' | 'sqlite' | 'git' | 'index';
  /**
   * False when a failed rollback leaves nothing wrong for readers, only for tidiness (the git
   * index, which serves `git status`): recovery finishes it, and the abort still stands.
   */
  readonly essential: boolean;
  prepare(txn: Transaction): Promise<void>;
  commit(txn: Transaction): Promise<void>;
  rollback(txn: Transaction): Promise<void>;
  recover(entry: JournalEntry, outcome: Outcome): Promise<void>;
}
