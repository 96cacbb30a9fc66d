// The one owner of .git/index for a writer: every change to it is made holding git's own
// index.lock, as native git does, through acquire(). Whatever the holder staged becomes the
// new index when its function returns; if the function throws, the index is left as it was.
//
// A person's git may write the index between two of our writes, and git's own `commit` reads
// the index before it takes index.lock, so it can put back a copy read before our last write
// (git does the same to another git). So after each write we leave a stamp of the file we
// wrote; an index that no longer matches it was written by someone else, and the session
// checks it against HEAD once (see missingRecordEntries).

import fs from 'node:fs';
import { entryFromStat, validCacheTrees, type IndexEntry } from '../git/index-file.js';
import type { GitLockFile } from '../git/lockfile.js';
import type { GitRepository } from '../git/repository.js';
import { isTreeMode, parseTree } from '../git/tree.js';
import { isRecordPath, RECORD_ROOTS } from '../record/paths.js';
import { rmQuiet } from '../util/durable.js';

/** The index as one holder of index.lock sees and changes it. */
export interface HeldIndex {
  /** The bytes of .git/index when the lock was taken (undefined: there is none). */
  readonly current: Buffer | undefined;
  /** The index to leave behind when the holder's function returns. */
  stage(next: Buffer): void;
  /** Leave no .git/index behind (an index restored to "there was none"). */
  stageRemoval(): void;
}

function stampOf(file: string): string {
  const stat = fs.statSync(file, { bigint: true, throwIfNoEntry: false });
  return stat === undefined ? 'none' : `${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
}

export class GitIndexManager {
  readonly repo: GitRepository;
  private readonly stampFile: string;

  /** `stampFile` keeps the identity of the index lessons wrote last (a hint, not fsynced). */
  constructor(repo: GitRepository, stampFile: string) {
    this.repo = repo;
    this.stampFile = stampFile;
  }

  /**
   * Hold index.lock (waiting while native git holds it, until `deadline`, epoch ms; then
   * GIT_LOCKED) and run `fn`. What `fn` staged replaces .git/index, fsynced, when it returns.
   */
  async acquire<T>(deadline: number, fn: (index: HeldIndex) => Promise<T>): Promise<T> {
    const lock = await this.repo.lockIndexWaiting(deadline);
    try {
      let staged: Buffer | null | undefined;
      const held: HeldIndex = {
        current: this.repo.readIndex(),
        stage: (next) => {
          staged = next;
        },
        stageRemoval: () => {
          staged = null;
        },
      };
      const result = await fn(held);
      if (staged !== undefined) this.replace(lock, staged);
      return result;
    } finally {
      lock.release();
    }
  }

  private replace(lock: GitLockFile, next: Buffer | null): void {
    if (next === null) {
      lock.release();
      rmQuiet(this.repo.indexPath);
    } else {
      lock.write(next, true);
      lock.commit(false);
    }
    try {
      fs.writeFileSync(this.stampFile, stampOf(this.repo.indexPath));
    } catch {
      // only a hint: without it the next session checks the index once more
    }
  }

  /** True when .git/index is not the file lessons wrote last (or lessons never wrote one). */
  foreign(): boolean {
    let stamp: string;
    try {
      stamp = fs.readFileSync(this.stampFile, 'utf8');
    } catch {
      return true;
    }
    return stamp !== stampOf(this.repo.indexPath);
  }

  /**
   * Entries for the files of lessons' folders that HEAD holds but the index lacks: what a
   * person's `git commit` racing a writer can drop. Only missing entries are given back: an
   * entry that differs from HEAD may be a person's staged change, and is theirs to keep.
   *
   * Folders whose cache-tree entry in the index (valid, as git's own commit leaves it) equals
   * HEAD's tree there hold nothing missing and are not read: the cost follows what changed,
   * not the size of the store.
   */
  async missingRecordEntries(tree: string): Promise<IndexEntry[]> {
    const buf = this.repo.readIndex();
    if (buf === undefined) return [];
    let valid: Map<string, string>;
    try {
      valid = validCacheTrees(buf);
    } catch {
      valid = new Map();
    }
    // Parsed only when a folder differs: at 100k records that is most of the cost.
    let entries: Map<string, IndexEntry> | undefined | null = null;
    const inIndex = (file: string): boolean => {
      if (entries === null) entries = this.repo.indexEntries();
      return entries === undefined || entries.has(file);
    };
    const missing: IndexEntry[] = [];
    const walk = async (oid: string, base: string): Promise<void> => {
      if (valid.get(base) === oid) return;
      for (const entry of parseTree(oid, await this.repo.objects.readTyped(oid, 'tree'))) {
        const file = base === '' ? entry.name : `${base}/${entry.name}`;
        if (isTreeMode(entry.mode)) {
          if (base !== '' || (RECORD_ROOTS as readonly string[]).includes(entry.name))
            await walk(entry.oid, file);
        } else if (isRecordPath(file) && !inIndex(file)) {
          missing.push(entryFromStat(file, entry.oid, this.repo.statIfMatches(file, entry.oid)));
        }
      }
    };
    await walk(tree, '');
    return missing;
  }
}
