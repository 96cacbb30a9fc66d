// One store's git repository: creation, HEAD, building commits, moving main, and the index.
// Objects are written before the ref moves; the ref moves by compare-and-swap; the index follows.

import fs from 'node:fs';
import path from 'node:path';
import { StoreError, UnsupportedIndexError, UsageError } from '../errors/index.js';
import { errnoCode, fsyncDir, readIfExists, rmQuiet, writeFileAtomic } from '../util/durable.js';
import type { OnProgress } from '../util/progress.js';
import { formatCommit, readCommit, trailerValues, type Signature } from './commit.js';
import { hashObject } from './hash.js';
import { writePack } from './pack.js';
import {
  encodeIndex,
  entryCount,
  entryFromStat,
  readIndexEntries,
  sharedIndexId,
  spliceIndex,
  splitIndex,
  unsplitIndex,
  indexStats,
  type IndexEntry,
  type IndexStat,
} from './index-file.js';
import { acquireWaiting, GitLockFile } from './lockfile.js';
import { ObjectStore } from './objects.js';
import {
  compareAndSwapRef,
  compareAndSwapRefWaiting,
  MAIN_REF,
  readHeadTarget,
  readRef,
} from './refs.js';
import { listTree, TreeEditor } from './tree.js';

const CONFIG =
  '[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = true\n';

/** An index of this many entries or more is kept split. */
export const SPLIT_FROM = 5000;
/** The split part is folded back into a new shared index beyond this many entries. */
export const SPLIT_MAX = 1000;
/** Shared indexes nothing names are removed once untouched this long. */
const SHARED_INDEX_GRACE_MS = 5 * 60_000;

export interface SplitOptions {
  /** Keep an index of at least this many entries split. @default 5000 */
  readonly splitFrom?: number;
  /** Fold the split part into a new shared index beyond this many entries. @default 1000 */
  readonly splitMax?: number;
}

export interface FileChange {
  /** Path relative to the work tree, with `/`. */
  readonly path: string;
  /** The new blob, or undefined to delete the file. */
  readonly blobOid: string | undefined;
}

export interface NewCommit {
  readonly tree: string;
  readonly commit: string;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) !== 'ESRCH';
  }
}

/** Transactions with at least this many new blobs write them as a pack. */
export const PACK_THRESHOLD = 32;

export class GitRepository {
  readonly workdir: string;
  readonly gitdir: string;
  readonly objects: ObjectStore;

  constructor(workdir: string) {
    this.workdir = workdir;
    this.gitdir = path.join(workdir, '.git');
    this.objects = new ObjectStore(this.gitdir);
  }

  exists(): boolean {
    return fs.existsSync(path.join(this.gitdir, 'HEAD'));
  }

  /**
   * Create the repository if there is none, all at once: it is assembled beside `.git` and
   * renamed into place, so a crash never leaves half a repository. Then make sure HEAD names
   * main (an unborn branch of another name is renamed; a branch with history is refused).
   */
  ensureCreated(): void {
    this.removeAbandonedStaging();
    if (!fs.existsSync(this.gitdir)) {
      const staging = `${this.gitdir}.tmp-${process.pid}-${Date.now()}`;
      try {
        for (const dir of ['objects/info', 'objects/pack', 'refs/heads', 'refs/tags', 'info']) {
          fs.mkdirSync(path.join(staging, dir), { recursive: true });
        }
        writeFileAtomic(path.join(staging, 'config'), CONFIG);
        writeFileAtomic(path.join(staging, 'HEAD'), `ref: ${MAIN_REF}\n`);
        for (const dir of [
          'objects/info',
          'objects/pack',
          'objects',
          'refs/heads',
          'refs/tags',
          'refs',
          'info',
          '.',
        ]) {
          fsyncDir(path.join(staging, dir));
        }
        fs.renameSync(staging, this.gitdir);
        fsyncDir(this.workdir);
      } finally {
        fs.rmSync(staging, { recursive: true, force: true });
      }
    }
    if (!fs.statSync(this.gitdir).isDirectory()) {
      throw new UsageError(
        'STORE_UNSUPPORTED',
        `${this.gitdir} is not a directory (a worktree or submodule link): use a store with its own repository.`,
      );
    }
    const target = readHeadTarget(this.gitdir);
    if (target === MAIN_REF) return;
    if (
      target !== undefined &&
      readRef(this.gitdir, target) === undefined &&
      readRef(this.gitdir, MAIN_REF) === undefined
    ) {
      const lock = GitLockFile.acquire(path.join(this.gitdir, 'HEAD'));
      try {
        lock.write(Buffer.from(`ref: ${MAIN_REF}\n`), true);
        lock.commit(true);
      } finally {
        lock.release();
      }
      return;
    }
    throw new UsageError(
      'STORE_WRONG_BRANCH',
      `the store's HEAD is ${target === undefined ? 'detached' : `on ${target}`}, but lessons commits to ${MAIN_REF}. ` +
        `Run \`git -C ${this.workdir} checkout main\` first.`,
    );
  }

  /** `.git.tmp-<pid>-*` folders of a creation interrupted by a crash. */
  private removeAbandonedStaging(): void {
    const base = `${path.basename(this.gitdir)}.tmp-`;
    for (const name of fs.readdirSync(this.workdir)) {
      const pid = name.startsWith(base) ? Number(name.slice(base.length).split('-')[0]) : NaN;
      if (Number.isInteger(pid) && pid !== process.pid && !processExists(pid)) {
        fs.rmSync(path.join(this.workdir, name), { recursive: true, force: true });
      }
    }
  }

  /** The commit main points to, or undefined before the first commit. */
  head(): string | undefined {
    return readRef(this.gitdir, MAIN_REF);
  }

  /**
   * The commit readers and verify look at: main, or, in a checkout that has no main branch
   * (a CI job on a pull request checks out a detached merge commit), the commit HEAD holds.
   * Writers always use main (head()).
   */
  readableHead(): string | undefined {
    const main = this.head();
    if (main !== undefined) return main;
    const text = readIfExists(path.join(this.gitdir, 'HEAD'))?.toString('utf8').trim() ?? '';
    return /^[0-9a-f]{40}$/.test(text) ? text : undefined;
  }

  async headTree(): Promise<string | undefined> {
    const head = this.head();
    return head === undefined ? undefined : (await readCommit(this.objects, head)).tree;
  }

  /**
   * Write the blobs, the trees along the changed paths and the commit, all fsynced, without
   * moving any ref. Returns the new commit and tree.
   */
  /**
   * The commits at the edge of a shallow clone (`.git/shallow`, as `git clone --depth 1` and
   * CI checkouts leave): present, but their parents are not. History walks stop there.
   */
  shallowCommits(): Set<string> {
    const text = readIfExists(path.join(this.gitdir, 'shallow'))?.toString('utf8') ?? '';
    return new Set(text.split('\n').filter((l) => /^[0-9a-f]{40}$/.test(l)));
  }

  async writeCommit(options: {
    parent: string | undefined;
    changes: readonly FileChange[];
    blobs?: ReadonlyMap<string, Uint8Array>;
    message: string;
    author: Signature;
    time: number;
    /** Progress of a large commit: blobs packed, then paths placed in the trees. */
    onProgress?: OnProgress | undefined;
  }): Promise<NewCommit> {
    const blobs = [...(options.blobs ?? [])];
    const progress = options.onProgress;
    // Many blobs go into one pack, fsynced once; a few are cheaper as loose objects.
    const written =
      blobs.length >= PACK_THRESHOLD
        ? writePack(
            this.objects.objectsDir,
            blobs.map(([, content]) => ({ type: 'blob' as const, content })),
            progress === undefined
              ? undefined
              : (done, total) => progress(done, total, 'packing git objects'),
          )
        : blobs.map(([, content]) => this.objects.write('blob', content));
    blobs.forEach(([oid], i) => {
      if (written[i] !== oid)
        throw new StoreError('GIT_OBJECT_CORRUPT', `blob for ${oid} hashed to ${written[i]}`);
    });
    const base =
      options.parent === undefined
        ? undefined
        : (await readCommit(this.objects, options.parent)).tree;
    const editor = new TreeEditor(this.objects, base);
    let placed = 0;
    for (const change of options.changes) {
      if (change.blobOid === undefined) await editor.remove(change.path);
      else await editor.set(change.path, change.blobOid);
      progress?.(++placed, options.changes.length, 'writing git trees');
    }
    const tree = await editor.write();
    const commit = this.objects.write(
      'commit',
      formatCommit({
        tree,
        parents: options.parent === undefined ? [] : [options.parent],
        author: options.author,
        committer: options.author,
        time: options.time,
        message: options.message,
      }),
    );
    this.objects.syncDirs();
    return { tree, commit };
  }

  /** Move main from `expected` to `next`, atomically, or throw REF_MOVED / GIT_LOCKED. */
  moveMain(expected: string | undefined, next: string): void {
    compareAndSwapRef(this.gitdir, MAIN_REF, expected, next);
  }

  /** moveMain, waiting up to `deadline` (epoch ms) while native git holds main's lock. */
  async moveMainWaiting(
    expected: string | undefined,
    next: string,
    deadline: number,
  ): Promise<void> {
    await compareAndSwapRefWaiting(this.gitdir, MAIN_REF, expected, next, deadline);
  }

  get indexPath(): string {
    return path.join(this.gitdir, 'index');
  }

  /** Take git's index lock (fails at once with GIT_LOCKED when held). */
  lockIndex(): GitLockFile {
    return GitLockFile.acquire(this.indexPath);
  }

  /** Take git's index lock, waiting up to `deadline` (epoch ms) while native git holds it. */
  lockIndexWaiting(deadline: number): Promise<GitLockFile> {
    return acquireWaiting(this.indexPath, deadline);
  }

  readIndex(): Buffer | undefined {
    return readIfExists(this.indexPath);
  }

  /**
   * The index bytes after applying `upsert` and `remove` to `current`. When the current index
   * cannot be spliced (a layout we do not edit, or unreadable), it is rebuilt from `tree`.
   *
   * A large index is kept split (see index-file.ts): a record adds its entry to the small
   * .git/index and the shared index is rewritten only when that part outgrows `splitMax`
   * entries, so the cost of a record does not follow the size of the store. Before the new
   * .git/index can name a new shared index, that file is written and fsynced here.
   */
  async nextIndex(
    current: Buffer | undefined,
    upsert: readonly IndexEntry[],
    remove: readonly string[],
    tree: string,
    options: SplitOptions = {},
  ): Promise<Buffer> {
    const splitFrom = options.splitFrom ?? SPLIT_FROM;
    const splitMax = options.splitMax ?? SPLIT_MAX;
    try {
      if (current !== undefined && remove.length === 0 && sharedIndexId(current) !== undefined) {
        const next = spliceIndex(current, { upsert, remove });
        if (entryCount(next) <= splitMax) return next;
      }
      const plain = spliceIndex(
        current === undefined ? undefined : unsplitIndex(current, (id) => this.readShared(id)),
        { upsert, remove },
      );
      if (entryCount(plain) < splitFrom) return plain;
      const split = splitIndex(plain);
      const file = path.join(this.gitdir, `sharedindex.${split.id}`);
      if (!fs.existsSync(file)) {
        writeFileAtomic(file, split.shared, { fsyncDir: true, mode: 0o644 });
        this.sweepSharedIndexes(file);
      }
      return split.index;
    } catch (error) {
      if (!(error instanceof UnsupportedIndexError) && !(error instanceof StoreError)) throw error;
      return this.buildIndex(tree);
    }
  }

  private readShared(id: string): Buffer {
    const buf = readIfExists(path.join(this.gitdir, `sharedindex.${id}`));
    if (buf === undefined)
      throw new StoreError('GIT_INDEX_UNREADABLE', `the shared index sharedindex.${id} is missing`);
    return buf;
  }

  /**
   * Remove shared indexes nothing names any more. A reader that has just read an index naming
   * one may still be about to open it, so only those untouched for a while go.
   */
  private sweepSharedIndexes(keep: string): void {
    const named = new Set([keep]);
    const current = this.readIndex();
    try {
      const id = current === undefined ? undefined : sharedIndexId(current);
      if (id !== undefined) named.add(path.join(this.gitdir, `sharedindex.${id}`));
    } catch {
      return;
    }
    const cutoff = Date.now() - SHARED_INDEX_GRACE_MS;
    for (const name of fs.readdirSync(this.gitdir)) {
      const file = path.join(this.gitdir, name);
      if (!name.startsWith('sharedindex.') || named.has(file)) continue;
      try {
        if (fs.statSync(file).mtimeMs < cutoff) rmQuiet(file);
      } catch {
        // gone already
      }
    }
  }

  /**
   * An index for `tree` built from scratch. Stat data is kept only for working files whose
   * bytes match their blob, so git re-reads any file that differs instead of trusting it.
   */
  async buildIndex(tree: string): Promise<Buffer> {
    const entries: IndexEntry[] = [];
    for (const [file, oid] of await listTree(this.objects, tree)) {
      entries.push(entryFromStat(file, oid, this.statIfMatches(file, oid)));
    }
    return encodeIndex(entries);
  }

  /** The stat of a working file when its content hashes to `oid`. */
  statIfMatches(file: string, oid: string): fs.BigIntStats | undefined {
    const full = path.join(this.workdir, file);
    try {
      const stat = fs.lstatSync(full, { bigint: true });
      if (!stat.isFile()) return undefined;
      return hashObject('blob', fs.readFileSync(full)) === oid ? stat : undefined;
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Entries of the current index by path (stage 0 only), or undefined when unreadable. */
  indexEntries(): Map<string, IndexEntry> | undefined {
    const buf = this.readIndex();
    if (buf === undefined) return new Map();
    try {
      return new Map(
        readIndexEntries(unsplitIndex(buf, (id) => this.readShared(id)))
          .filter((e) => e.stage === 0)
          .map((e) => [e.path, e]),
      );
    } catch {
      return undefined;
    }
  }

  /**
   * What verify compares of each stage-0 entry of the current index (blob and stat data), by
   * path, read in place (indexStats); undefined when unreadable, or in a layout the general
   * reader (indexEntries) gives up on too.
   */
  indexStats(): Map<string, IndexStat> | undefined {
    const buf = this.readIndex();
    if (buf === undefined) return new Map();
    try {
      return indexStats(buf, (id) => this.readShared(id));
    } catch {
      return undefined;
    }
  }

  /**
   * The commits of transaction `txid` on main, newest first: walking back from `from` until
   * `stopAt` (the transaction's parent when it began) or the root, the run of consecutive
   * commits carrying `Lessons-Txid: txid` (one per unit of a group), each with the record ids
   * its trailers name; and `base`, the parent of the oldest. Empty when none is on main.
   */
  async findTxidCommits(
    txid: string,
    from: string | undefined,
    stopAt: string | undefined,
    maxDepth = 10_000,
  ): Promise<{ commits: { oid: string; ids: string[] }[]; base: string | undefined }> {
    const commits: { oid: string; ids: string[] }[] = [];
    let oid = from;
    const shallow = this.shallowCommits();
    for (let depth = 0; oid !== undefined && depth < maxDepth; depth++) {
      if (oid === stopAt && commits.length === 0) break;
      const commit = await readCommit(this.objects, oid);
      const ours = trailerValues(commit.message, 'Lessons-Txid').includes(txid);
      if (!ours && commits.length > 0) return { commits, base: oid };
      if (ours) commits.push({ oid, ids: trailerValues(commit.message, 'Lessons-Id') });
      oid = shallow.has(oid) ? undefined : commit.parents[0];
    }
    return { commits, base: oid };
  }

  /** Remove git lock files this process may have left (used by recovery for dead writers). */
  removeLockFile(target: string): void {
    rmQuiet(`${target}.lock`);
  }
}
