// The object database of one repository. Loose objects are read and written here directly
// (zlib + sha1 from node); packed objects (ours, and a user's `git gc`'s) through pack-reader.ts,
// which reads only the bytes of the object asked for. A group commit's
// objects are written as one pack (writePack), and the small packs groups leave are joined
// into one once there are more than SMALL_PACKS_MAX of them.

import fs from 'node:fs';
import path from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import { CorruptObjectError } from '../errors/index.js';
import { errnoCode, fsyncDir, rmQuiet, tempPathFor } from '../util/durable.js';
import { hashObject, objectHeader, type ObjectType } from './hash.js';
import { rawEntries, writePack, writeRawPack, type RawEntry } from './pack.js';
import { PackSet } from './pack-reader.js';
import { lastEntryKey } from './tree.js';

export interface GitObject {
  readonly type: ObjectType;
  readonly content: Buffer;
}

/** How many REF_DELTA bases deep a packed read may go. */
const MAX_REF_DEPTH = 1000;

/** How many times a packed read is tried again with a fresh list of packs. */
const PACK_RETRIES = 5;

/** After this many reads in a row found no loose object, the packs are looked in first. */
const PACKS_FIRST_AFTER = 16;

interface PendingObject {
  readonly type: ObjectType;
  readonly content: Buffer;
}

/**
 * Packs smaller than this are joined when there are more than SMALL_PACKS_MAX of them: each
 * lookup of a packed object looks in every pack, so they must stay few. The joined pack grows
 * until it passes the size, and is left alone from then on (git's own `gc` repacks the rest).
 */
const SMALL_PACK_BYTES = 8 << 20;
const SMALL_PACKS_MAX = 24;
/** The fewest packs a join is written for. */
const JOIN_AT_LEAST = 4;

/** Trees kept in memory, by id, with the key of their last entry (TreeEditor appends there). */
const RECENT_TREES_BYTES = 32 << 20;
const RECENT_TREES_MAX = 256;

/** How many times an object write starts over when git removed its empty folder meanwhile. */
const WRITE_RETRIES = 5;

export class ObjectStore {
  readonly gitdir: string;
  readonly objectsDir: string;
  /** Directories that received new objects and still need an fsync. */
  private readonly dirtyDirs = new Set<string>();
  private objectsDirDirty = false;
  private readonly packs: PackSet;
  /**
   * Objects written since beginBatch(): in memory only, where reads find them. flushBatch()
   * writes them as one pack, durably.
   */
  private batch: Map<string, PendingObject> | undefined;
  /**
   * Trees lately read or written: each commit of a group starts from the one before, and each
   * record of a long-lived writer from the last. Content-addressed, so never stale.
   */
  private readonly recentTrees = new Map<string, { content: Buffer; lastKey: Buffer }>();
  private recentTreesBytes = 0;
  /**
   * Reads in a row that found no loose object. A store built by imports and group commits
   * holds most objects in packs, and a loose read that misses costs a failed open and an
   * exception: walking 50,000 packed blobs (verify --deep) paid that 50,000 times.
   */
  private looseMisses = 0;

  constructor(gitdir: string) {
    this.gitdir = gitdir;
    this.objectsDir = path.join(gitdir, 'objects');
    this.packs = new PackSet(this.objectsDir);
  }

  private loosePath(oid: string): string {
    return path.join(this.objectsDir, oid.slice(0, 2), oid.slice(2));
  }

  hasLoose(oid: string): boolean {
    return fs.existsSync(this.loosePath(oid));
  }

  /**
   * Read an object, loose or packed. With `verify`, the content must hash to `oid`.
   *
   * A person's `git gc` may move objects meanwhile: a loose object packed and removed, packs
   * replaced by a new one. The list of packs is kept between reads, so a failed packed read is
   * tried again, loose first, with that list dropped, before the object is called missing or
   * corrupt.
   */
  async read(oid: string, verify = false): Promise<GitObject> {
    return this.readAt(oid, verify, 0);
  }

  /** read(), `depth` REF_DELTA bases down (a damaged pack's deltas could name each other). */
  private async readAt(oid: string, verify: boolean, depth: number): Promise<GitObject> {
    if (depth > MAX_REF_DEPTH)
      throw new CorruptObjectError(oid, 'its delta bases name one another without end');
    const pending = this.batch?.get(oid);
    if (pending !== undefined) return { type: pending.type, content: pending.content };
    let object: GitObject | undefined;
    if (this.looseMisses >= PACKS_FIRST_AFTER) {
      try {
        object = await this.packs.tryRead(oid, (base) => this.readAt(base, false, depth + 1));
      } catch {
        // a damaged or replaced pack: the reads below look again, loose first
      }
    }
    for (let attempt = 0; object === undefined; attempt++) {
      let raw: Buffer | undefined;
      try {
        raw = fs.readFileSync(this.loosePath(oid));
      } catch (error) {
        if (errnoCode(error) !== 'ENOENT') throw error;
      }
      if (raw !== undefined) {
        this.looseMisses = 0;
        object = parseLoose(oid, raw);
        break;
      }
      this.looseMisses++;
      try {
        object = await this.packs.read(oid, (base) => this.readAt(base, false, depth + 1));
      } catch (error) {
        if (attempt >= PACK_RETRIES) throw error;
        this.packs.forget();
        await new Promise((resolve) => setTimeout(resolve, 10 * (attempt + 1)));
      }
    }
    if (verify && hashObject(object.type, object.content) !== oid) {
      throw new CorruptObjectError(oid, 'its content does not hash to its id');
    }
    return object;
  }

  /** A tree's content and the sort key of its last entry, kept for the next edit. */
  async readTree(oid: string): Promise<{ content: Buffer; lastKey: Buffer }> {
    const known = this.recentTrees.get(oid);
    if (known !== undefined) return known;
    const content = await this.readTyped(oid, 'tree');
    const tree = { content, lastKey: lastEntryKey(oid, content) };
    this.remember(oid, tree);
    return tree;
  }

  /** Write a tree whose last entry's sort key the caller knows, and keep it for the next edit. */
  writeTree(content: Buffer, lastKey: Buffer): string {
    const oid = this.write('tree', content);
    this.remember(oid, { content, lastKey });
    return oid;
  }

  private remember(oid: string, tree: { content: Buffer; lastKey: Buffer }): void {
    if (this.recentTrees.has(oid) || tree.content.length > RECENT_TREES_BYTES / 4) return;
    this.recentTrees.set(oid, tree);
    this.recentTreesBytes += tree.content.length;
    for (const [old, { content }] of this.recentTrees) {
      if (this.recentTreesBytes <= RECENT_TREES_BYTES && this.recentTrees.size <= RECENT_TREES_MAX)
        break;
      this.recentTrees.delete(old);
      this.recentTreesBytes -= content.length;
    }
  }

  async readTyped(oid: string, type: ObjectType): Promise<Buffer> {
    const object = await this.read(oid);
    if (object.type !== type)
      throw new CorruptObjectError(oid, `expected a ${type}, found a ${object.type}`);
    return object.content;
  }

  /**
   * Write a loose object (fsynced file, atomic rename) unless it already exists, and return its
   * id; in a batch, keep it in memory for flushBatch(). The containing directory is fsynced by
   * syncDirs(), once per batch.
   */
  write(type: ObjectType, content: Uint8Array): string {
    const oid = hashObject(type, content);
    const target = this.loosePath(oid);
    if (this.batch?.has(oid) === true || fs.existsSync(target)) return oid;
    if (this.batch !== undefined) {
      // Kept as it is, not copied (a tree of a large folder is a megabyte): callers never change
      // what they wrote.
      this.batch.set(oid, {
        type,
        content: Buffer.isBuffer(content) ? content : Buffer.from(content),
      });
      return oid;
    }
    const dir = path.dirname(target);
    const data = deflateSync(Buffer.concat([objectHeader(type, content.length), content]), {
      level: 1,
    });
    // `git gc` (git prune) removes empty object folders; one may go between our mkdir and our
    // open. Like git itself, make it again and start over.
    for (let attempt = 0; ; attempt++) {
      try {
        this.writeLoose(dir, target, data);
        break;
      } catch (error) {
        if (errnoCode(error) !== 'ENOENT' || attempt >= WRITE_RETRIES) throw error;
      }
    }
    this.dirtyDirs.add(dir);
    return oid;
  }

  /**
   * Start writing objects as a batch (a group commit's many small commits): each is kept in
   * memory, where reads find it, until flushBatch() writes them all as one pack, fsynced once,
   * instead of a file, an fsync, a rename and a folder fsync each. A crash before that leaves
   * nothing, or the temp files of a pack, which recovery sweeps.
   */
  beginBatch(): void {
    this.batch ??= new Map();
  }

  /** Write the batch as one pack (durable when this returns); then keep the packs few. */
  async flushBatch(): Promise<void> {
    const batch = this.batch;
    this.batch = undefined;
    if (batch === undefined || batch.size === 0) return;
    const pending = [...batch];
    const written = writePack(
      this.objectsDir,
      pending.map(([, object]) => object),
    );
    this.packs.forget();
    pending.forEach(([oid], i) => {
      if (written[i] !== oid) throw new CorruptObjectError(oid, `it was packed as ${written[i]}`);
    });
    this.syncDirs();
    try {
      await this.joinSmallPacks();
    } catch {
      // Joining is an optimisation: a pack that cannot be read (a corrupt object, a pack git
      // replaced meanwhile) stays as it is, and the commit, durable already, goes on.
    }
  }

  /**
   * When more than SMALL_PACKS_MAX packs are under SMALL_PACK_BYTES, join the smallest of them
   * into one pack, then remove them (index first, as git finds a pack by its index). At most
   * SMALL_PACK_BYTES of packs are read, and a join is written only when at least
   * JOIN_AT_LEAST packs can be joined: the cost of a flush stays bounded whatever the store
   * holds, also when many small packs cannot be joined. Entries are copied as stored, checked
   * against the CRC-32 their index gives, OFS_DELTAs placed anew; a pack with REF_DELTAs or a
   * bad CRC is left as it is. Called under the writers' lock. A crash between the write and
   * the removal leaves objects twice, which is harmless, and the joined pack is never among
   * those removed (a join of the same packs again writes a pack of the same name).
   */
  private async joinSmallPacks(): Promise<void> {
    const packDir = path.join(this.objectsDir, 'pack');
    const small: { base: string; size: number }[] = [];
    for (const name of fs.readdirSync(packDir)) {
      if (!/^pack-[0-9a-f]{40}\.idx$/.test(name)) continue;
      const base = path.join(packDir, name.slice(0, -'.idx'.length));
      const size = fs.statSync(`${base}.pack`, { throwIfNoEntry: false })?.size;
      // Kept packs stay, and so do git's cruft packs (unreachable objects, dated by .mtimes
      // for their expiry) and promisor packs (a partial clone's): a join would lose their mark.
      if (
        size === undefined ||
        size >= SMALL_PACK_BYTES ||
        ['.keep', '.mtimes', '.promisor'].some((ext) => fs.existsSync(`${base}${ext}`))
      )
        continue;
      small.push({ base, size });
    }
    if (small.length <= SMALL_PACKS_MAX) return;
    small.sort((a, b) => a.size - b.size);
    const joined: string[] = [];
    const entries = new Map<string, RawEntry>();
    let read = 0;
    for (const { base, size } of small) {
      if (read + size > SMALL_PACK_BYTES && read > 0) break;
      read += size;
      const raw = rawEntries(fs.readFileSync(`${base}.pack`), fs.readFileSync(`${base}.idx`));
      if (raw === undefined) continue;
      for (const entry of raw) {
        const oid = entry.oid.toString('hex');
        if (!entries.has(oid)) entries.set(oid, entry);
      }
      joined.push(base);
    }
    if (joined.length < JOIN_AT_LEAST) return;
    const written = writeRawPack(this.objectsDir, [...entries.values()]);
    for (const base of joined) {
      if (base === written) continue;
      for (const ext of ['.idx', '.pack', '.rev', '.bitmap', '.mtimes']) rmQuiet(`${base}${ext}`);
    }
    fsyncDir(packDir);
    this.packs.forget();
  }

  /** Drop a batch that will not be committed (nothing of it is on disk). */
  discardBatch(): void {
    this.batch = undefined;
  }

  /** The object's bytes in a temp file beside `target`, fsynced, then renamed into place. */
  private writeLoose(dir: string, target: string, data: Buffer): void {
    if (!fs.existsSync(dir)) {
      try {
        fs.mkdirSync(dir);
        this.objectsDirDirty = true;
      } catch (error) {
        if (errnoCode(error) !== 'EEXIST') throw error;
      }
    }
    const tmp = tempPathFor(target);
    const fd = fs.openSync(tmp, 'wx', 0o444);
    try {
      try {
        fs.writeSync(fd, data);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, target);
    } catch (error) {
      rmQuiet(tmp);
      throw error;
    }
  }

  /**
   * Remove temp files of object and pack writes interrupted by a crash
   * (`<oid>.tmp-<pid>-<rand>`, `pack-<sha>.pack.tmp-<pid>-<rand>`) whose writer `isDead` says
   * is gone. Returns how many were removed.
   */
  sweepTempFiles(isDead: (pid: number) => boolean): number {
    let removed = 0;
    let dirs: string[];
    try {
      dirs = fs.readdirSync(this.objectsDir).filter((d) => /^([0-9a-f]{2}|pack)$/.test(d));
    } catch {
      return 0;
    }
    for (const dir of dirs) {
      for (const name of fs.readdirSync(path.join(this.objectsDir, dir))) {
        const pid = /\.tmp-(\d+)-[0-9a-f]+$/.exec(name)?.[1];
        if (pid !== undefined && isDead(Number(pid))) {
          rmQuiet(path.join(this.objectsDir, dir, name));
          removed++;
        }
      }
    }
    return removed;
  }

  /** fsync every object directory written to since the last call. */
  syncDirs(): void {
    for (const dir of this.dirtyDirs) fsyncDir(dir);
    if (this.objectsDirDirty) fsyncDir(this.objectsDir);
    this.dirtyDirs.clear();
    this.objectsDirDirty = false;
  }
}

function parseLoose(oid: string, raw: Buffer): GitObject {
  let data: Buffer;
  try {
    data = inflateSync(raw);
  } catch (error) {
    throw new CorruptObjectError(oid, 'it does not inflate', error);
  }
  const nul = data.indexOf(0);
  const header = nul > 0 ? data.toString('latin1', 0, nul) : '';
  const match = /^(blob|tree|commit|tag) (\d+)$/.exec(header);
  if (!match) throw new CorruptObjectError(oid, 'its header is malformed');
  const content = data.subarray(nul + 1);
  if (content.length !== Number(match[2]))
    throw new CorruptObjectError(oid, 'its size does not match its header');
  return { type: match[1] as ObjectType, content };
}
