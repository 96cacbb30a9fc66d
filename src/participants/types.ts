// What the coordinator and the participants share about one transaction.

import type { Database } from '../db/database.js';
import type { Signature } from '../git/commit.js';
import type { GitRepository } from '../git/repository.js';
import type { RenderedRecord } from '../record/types.js';
import type { StoreLayout } from '../resources/layout.js';
import type { HeldLock } from '../resources/lock.js';
import type { OnProgress } from '../util/progress.js';
import type { Journal, JournalEntry } from '../resources/journal.js';

/** Everything a writer holds while it has the writers' lock. */
export interface WriteContext {
  readonly layout: StoreLayout;
  readonly repo: GitRepository;
  readonly db: Database;
  readonly journal: Journal;
  readonly author: Signature;
  readonly lock: HeldLock;
  /** Epoch ms until which waiting for native git's lock files is worth it (--lock-timeout). */
  readonly deadline: number;
}

export interface Transaction {
  readonly txid: string;
  readonly records: readonly RenderedRecord[];
  /** Progress of a large transaction (an import), reported by the participants. */
  readonly onProgress?: OnProgress | undefined;
  /**
   * The parent of the commit: main when the lock was taken, or, if main moved under the
   * transaction (a person's own git), the commit it was rebuilt on.
   */
  parent: string | undefined;
  readonly message: string;
  /** Commit time. */
  readonly time: Date;
  /** Set once the commit object is written. */
  commit?: string;
  tree?: string;
  /** Record id -> rowid, set by the SQLite participant. */
  readonly rowids: Map<string, number>;
}

/** What recovery decided for a journal entry. */
export type Outcome =
  | { readonly committed: true; readonly commit: string; readonly tree: string }
  | { readonly committed: false };

/**
 * One store taking part in a transaction. prepare() does the participant's step, commit()
 * finishes it, rollback() undoes whatever of the two ran (and is safe to call at any point),
 * recover() brings the participant in line with a crashed transaction's outcome, idempotently.
 */
export interface Participant {
  readonly name: 'files' | 'sqlite' | 'git';
  prepare(txn: Transaction): Promise<void>;
  commit(txn: Transaction): Promise<void>;
  rollback(txn: Transaction): Promise<void>;
  recover(entry: JournalEntry, outcome: Outcome): Promise<void>;
}
