// Reading objects from packfiles (gitformat-pack(5)): the version 2 index is searched in place
// and only the bytes of the object asked for are read from the pack, with its delta chain
// (OFS_DELTA and REF_DELTA) resolved. A whole pack is never loaded: after a person's `git gc`,
// a store of a million records is one pack of hundreds of megabytes, and a record reads four
// trees from it.

import fs from 'node:fs';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { CorruptObjectError, ObjectNotFoundError } from '../errors/index.js';
import type { ObjectType } from './hash.js';

export interface PackedObject {
  readonly type: ObjectType;
  readonly content: Buffer;
}

const TYPES: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;
const IDX_MAGIC = 0xff744f63;
const FANOUT = 8;
/** Longest delta chain followed (git's default depth is 50, --aggressive 250). */
const MAX_CHAIN = 4096;
/** Lookups in a pack answered from its index on disk before the index is read whole. */
const INDEX_IN_MEMORY_AFTER = 16;
/** Resolved delta bases kept per pack, by total size: chains share their bases. */
const BASE_CACHE_BYTES = 16 << 20;

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? buf : buf.subarray(0, done);
}

/** Open `file`, run `fn` on its descriptor, close it. */
function withFd<T>(file: string, fn: (fd: number) => T): T {
  const fd = fs.openSync(file, 'r');
  try {
    return fn(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * One pack and its index, searched with positioned reads. Descriptors are opened for each
 * lookup and closed after it: a store is opened and dropped by every write session, and a
 * descriptor left open by a dropped one would never be closed.
 */
class Pack {
  readonly name: string;
  private readonly base: string;
  readonly count: number;
  private readonly fanout: Buffer;
  private readonly bases = new Map<number, PackedObject>();
  private basesBytes = 0;
  /** Lookups so far; past INDEX_IN_MEMORY_AFTER the whole index is read once and kept. */
  private lookups = 0;
  private index: Buffer | undefined;

  constructor(base: string) {
    this.base = base;
    this.name = path.basename(base);
    const head = withFd(`${base}.idx`, (fd) => readAt(fd, 0, FANOUT + 256 * 4));
    if (
      head.length < FANOUT + 1024 ||
      head.readUInt32BE(0) !== IDX_MAGIC ||
      head.readUInt32BE(4) !== 2
    )
      throw new CorruptObjectError(this.name, 'its index is not a version 2 pack index');
    this.fanout = head.subarray(FANOUT);
    this.count = this.fanout.readUInt32BE(255 * 4);
  }

  /**
   * The offset of `oid` in the pack, or undefined. A few lookups read the index in place; a
   * reader that keeps looking (verify --deep, a reindex falling back to git) gets it whole,
   * read once, instead of an open and a score of reads for each object in each pack.
   */
  find(oid: Buffer): number | undefined {
    const first = oid[0]!;
    let lo = first === 0 ? 0 : this.fanout.readUInt32BE((first - 1) * 4);
    let hi = this.fanout.readUInt32BE(first * 4);
    if (lo >= hi) return undefined;
    if (this.index === undefined && ++this.lookups > INDEX_IN_MEMORY_AFTER)
      this.index = fs.readFileSync(`${this.base}.idx`);
    const search = (read: (at: number, length: number) => Buffer): number | undefined => {
      const ids = FANOUT + 1024;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const cmp = read(ids + mid * 20, 20).compare(oid);
        if (cmp === 0) return this.offsetAt(read, mid);
        if (cmp < 0) lo = mid + 1;
        else hi = mid;
      }
      return undefined;
    };
    const index = this.index;
    if (index !== undefined) return search((at, length) => index.subarray(at, at + length));
    return withFd(`${this.base}.idx`, (fd) => search((at, length) => readAt(fd, at, length)));
  }

  /** Every object id in the pack (20 bytes as a latin1 string) with its offset. */
  entries(visit: (key: string, offset: number) => void): void {
    // Read for the loop, not kept: the directory holds what it gives.
    const index = this.index ?? fs.readFileSync(`${this.base}.idx`);
    const read = (at: number, length: number): Buffer => index.subarray(at, at + length);
    const ids = FANOUT + 1024;
    for (let i = 0; i < this.count; i++)
      visit(index.toString('latin1', ids + i * 20, ids + i * 20 + 20), this.offsetAt(read, i));
  }

  private offsetAt(read: (at: number, length: number) => Buffer, i: number): number {
    const offsets = FANOUT + 1024 + this.count * 24;
    const small = read(offsets + i * 4, 4).readUInt32BE(0);
    if ((small & 0x80000000) === 0) return small;
    const large = offsets + this.count * 4 + (small & 0x7fffffff) * 8;
    return Number(read(large, 8).readBigUInt64BE(0));
  }

  /**
   * The object at `offset`, its delta chain resolved; `byId` finds the base of a REF_DELTA
   * (in this pack or another, or loose).
   */
  async read(
    offset: number,
    oid: string,
    byId: (oid: string) => Promise<PackedObject>,
  ): Promise<PackedObject> {
    // Walk down the chain to an object stored whole (or a base already resolved), then apply
    // the deltas back up.
    const deltas: Buffer[] = [];
    let at = offset;
    let base: PackedObject | undefined;
    let refBase: string | undefined;
    withFd(`${this.base}.pack`, (fd) => {
      const packSize = fs.fstatSync(fd).size;
      for (let depth = 0; base === undefined && refBase === undefined; depth++) {
        if (depth > MAX_CHAIN) throw new CorruptObjectError(oid, 'its delta chain does not end');
        const cached = this.bases.get(at);
        if (cached !== undefined) {
          base = cached;
          break;
        }
        const entry = this.entry(fd, packSize, at, oid);
        if (entry.type <= 4) {
          base = { type: TYPES[entry.type]!, content: entry.data };
        } else {
          deltas.push(entry.data);
          if (entry.type === OFS_DELTA) at = entry.base as number;
          else refBase = entry.base as string;
        }
      }
    });
    base ??= await byId(refBase!);
    let content = base.content;
    for (let i = deltas.length - 1; i >= 0; i--) content = applyDelta(content, deltas[i]!, oid);
    const object = { type: base.type, content };
    if (deltas.length > 0) this.remember(offset, object);
    return object;
  }

  private remember(offset: number, object: PackedObject): void {
    if (object.content.length > BASE_CACHE_BYTES / 4) return;
    while (this.basesBytes + object.content.length > BASE_CACHE_BYTES && this.bases.size > 0) {
      const [oldest, dropped] = this.bases.entries().next().value as [number, PackedObject];
      this.bases.delete(oldest);
      this.basesBytes -= dropped.content.length;
    }
    this.bases.set(offset, object);
    this.basesBytes += object.content.length;
  }

  /** The entry at `offset`: its type, its inflated data, and for a delta its base. */
  private entry(
    fd: number,
    packSize: number,
    offset: number,
    oid: string,
  ): { type: number; data: Buffer; base?: number | string } {
    if (offset < 12 || offset >= packSize - 20)
      throw new CorruptObjectError(oid, `pack ${this.name} has no entry at ${offset}`);
    const head = readAt(fd, offset, Math.min(64, packSize - 20 - offset));
    let pos = 0;
    let byte = head[pos++]!;
    const type = (byte >> 4) & 7;
    let size = byte & 0x0f;
    let shift = 4;
    while (byte & 0x80) {
      byte = head[pos++]!;
      size += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    }
    let base: number | string | undefined;
    if (type === OFS_DELTA) {
      byte = head[pos++]!;
      let back = byte & 0x7f;
      while (byte & 0x80) {
        byte = head[pos++]!;
        back = (back + 1) * 128 + (byte & 0x7f);
      }
      base = offset - back;
    } else if (type === REF_DELTA) {
      base = head.toString('hex', pos, pos + 20);
      pos += 20;
    } else if (TYPES[type] === undefined) {
      throw new CorruptObjectError(oid, `pack ${this.name} has an entry of unknown type ${type}`);
    }
    // zlib's output is at most its input plus a few bytes per 16 kB block: read that much, and
    // let inflate stop at the end of the stream. Another deflater may need more (fixed Huffman
    // codes alone can add an eighth): then read again, up to the end of the pack.
    const start = offset + pos;
    const rest = packSize - 20 - start;
    let data: Buffer | undefined;
    for (const want of [size + Math.ceil(size / 1000) + 64, 2 * size + 1024, rest]) {
      try {
        data = inflateSync(readAt(fd, start, Math.min(want, rest)));
        break;
      } catch (error) {
        if (want < rest && (error as { code?: string }).code === 'Z_BUF_ERROR') continue;
        throw new CorruptObjectError(oid, `its data in pack ${this.name} does not inflate`, error);
      }
    }
    if (data === undefined)
      throw new CorruptObjectError(oid, `its data in pack ${this.name} does not inflate`);
    if (data.length !== size)
      throw new CorruptObjectError(oid, `its size in pack ${this.name} does not match its header`);
    return { type, data, ...(base === undefined ? {} : { base }) };
  }
}

function varint(delta: Buffer, at: { pos: number }): number {
  let value = 0;
  let shift = 0;
  let byte: number;
  do {
    byte = delta[at.pos++]!;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80 && at.pos < delta.length);
  return value;
}

/** `base` with git's delta instructions applied: copies from the base and inserted bytes. */
export function applyDelta(base: Buffer, delta: Buffer, oid = '(delta)'): Buffer {
  const at = { pos: 0 };
  if (varint(delta, at) !== base.length)
    throw new CorruptObjectError(oid, 'its delta does not fit its base');
  const size = varint(delta, at);
  const out = Buffer.allocUnsafe(size);
  let written = 0;
  while (at.pos < delta.length) {
    const op = delta[at.pos++]!;
    if (op & 0x80) {
      let offset = 0;
      let length = 0;
      for (let i = 0; i < 4; i++) if (op & (1 << i)) offset += delta[at.pos++]! * 2 ** (8 * i);
      for (let i = 0; i < 3; i++)
        if (op & (1 << (4 + i))) length += delta[at.pos++]! * 2 ** (8 * i);
      if (length === 0) length = 0x10000;
      if (offset + length > base.length || written + length > size)
        throw new CorruptObjectError(oid, 'its delta copies outside its base');
      base.copy(out, written, offset, offset + length);
      written += length;
    } else if (op > 0) {
      if (at.pos + op > delta.length || written + op > size)
        throw new CorruptObjectError(oid, 'its delta inserts past its end');
      delta.copy(out, written, at.pos, at.pos + op);
      at.pos += op;
      written += op;
    } else {
      throw new CorruptObjectError(oid, 'its delta holds a reserved instruction');
    }
  }
  if (written !== size) throw new CorruptObjectError(oid, 'its delta is shorter than it says');
  return out;
}

/**
 * Lookups in one listing of DIRECTORY_FROM_PACKS packs or more after which all their ids go
 * into one map (PackSet.locate): at least DIRECTORY_AFTER, and one for every
 * DIRECTORY_PER_OBJECTS objects the packs hold. Each pack's own search is a few comparisons,
 * but an object is looked for in pack after pack until one holds it: a store that
 * `recordMany` filled in batches has a pack a batch, and verify --deep of a million records
 * (hundreds of packs) spent minutes there. The map costs about 100 bytes an object, so only
 * a reader that looks up a good share of them gets it; a writer that adds a pack starts the
 * count again.
 */
const DIRECTORY_AFTER = 4096;
const DIRECTORY_PER_OBJECTS = 32;
const DIRECTORY_FROM_PACKS = 4;
/** Where a directory entry's offset ends and its pack's number begins. */
const PACK_NUMBER = 2 ** 40;

/**
 * The packs of a repository, listed once (a caller that misses an object lists them again:
 * `git gc` may have replaced them meanwhile).
 */
export class PackSet {
  private readonly packDir: string;
  /** The packs as listed last; the lookups in them, how many earn the directory, and it. */
  private packs: Pack[] | undefined;
  private lookups = 0;
  private directoryBar = DIRECTORY_AFTER;
  /** Every id of the listed packs: pack number * PACK_NUMBER + offset. */
  private directory: Map<string, number> | undefined;

  constructor(objectsDir: string) {
    this.packDir = path.join(objectsDir, 'pack');
  }

  /**
   * The object `oid` from whichever pack holds it; ObjectNotFoundError when none does. A miss
   * in the packs listed before lists them again first: this process, or a person's git, may
   * have written a pack since.
   */
  async read(oid: string, byId: (oid: string) => Promise<PackedObject>): Promise<PackedObject> {
    const key = Buffer.from(oid, 'hex');
    for (let fresh = this.packs === undefined; ; fresh = true) {
      const found = this.locate(key);
      if (found !== undefined) return found.pack.read(found.offset, oid, byId);
      if (fresh) throw new ObjectNotFoundError(oid);
      this.forget();
    }
  }

  /**
   * The pack that holds `key` and where, or undefined: the first of the packs as listed (the
   * newest) that holds it. Asked of each pack in turn, or of the directory of them all once
   * this set has been asked often enough (DIRECTORY_AFTER).
   */
  private locate(key: Buffer): { pack: Pack; offset: number } | undefined {
    const packs = this.list();
    if (
      this.directory === undefined &&
      packs.length >= DIRECTORY_FROM_PACKS &&
      packs.length * PACK_NUMBER <= Number.MAX_SAFE_INTEGER &&
      ++this.lookups > this.directoryBar
    ) {
      const directory = new Map<string, number>();
      // The last first, so that where packs share an object the newest one's entry stays.
      for (let number = packs.length - 1; number >= 0; number--)
        packs[number]!.entries((id, offset) => directory.set(id, number * PACK_NUMBER + offset));
      this.directory = directory;
    }
    if (this.directory !== undefined) {
      const at = this.directory.get(key.toString('latin1'));
      if (at === undefined) return undefined;
      return { pack: packs[Math.floor(at / PACK_NUMBER)]!, offset: at % PACK_NUMBER };
    }
    for (const pack of packs) {
      const offset = pack.find(key);
      if (offset !== undefined) return { pack, offset };
    }
    return undefined;
  }

  /**
   * The object `oid` from the packs as last listed (listed now if never), or undefined when
   * none of them holds it: no listing again on a miss, for a caller that looks elsewhere next.
   */
  async tryRead(
    oid: string,
    byId: (oid: string) => Promise<PackedObject>,
  ): Promise<PackedObject | undefined> {
    const found = this.locate(Buffer.from(oid, 'hex'));
    return found === undefined ? undefined : found.pack.read(found.offset, oid, byId);
  }

  private list(): Pack[] {
    if (this.packs !== undefined) return this.packs;
    let names: string[];
    try {
      names = fs.readdirSync(this.packDir);
    } catch {
      names = [];
    }
    const packs: Pack[] = [];
    // Newest first: recent objects are the ones asked for most.
    const bases = names
      .filter((n) => /^pack-[0-9a-f]{40,64}\.idx$/.test(n))
      .map((n) => path.join(this.packDir, n.slice(0, -'.idx'.length)))
      .map((base) => ({
        base,
        mtime: fs.statSync(`${base}.idx`, { throwIfNoEntry: false })?.mtimeMs ?? 0,
      }))
      .sort((a, b) => b.mtime - a.mtime);
    for (const { base } of bases) {
      try {
        packs.push(new Pack(base));
      } catch {
        // a pack removed meanwhile, or one whose index we cannot read: not ours to fix here
      }
    }
    this.packs = packs;
    this.lookups = 0;
    this.directory = undefined;
    const objects = packs.reduce((sum, pack) => sum + pack.count, 0);
    this.directoryBar = Math.max(DIRECTORY_AFTER, objects / DIRECTORY_PER_OBJECTS);
    return packs;
  }

  /** Forget the list of packs (the next read lists them again). */
  forget(): void {
    this.packs = undefined;
    this.directory = undefined;
  }
}
