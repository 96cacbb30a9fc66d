// Writing a packfile: many objects in one file, fsynced once. A transaction of thousands of
// records (recordMany, the importer) would otherwise write and fsync thousands of loose objects.
// Version 2 pack, version 2 index, as git documents them in gitformat-pack(5). The index is
// renamed into place last, since git finds packs by it.
//
// Objects are stored whole, except a tree that differs little from a tree written just before
// it in the same pack: that one is stored as an OFS_DELTA on it. A group commit writes one
// commit per record, and each commit has its own version of the month's folder, which holds
// every record of the month: whole, sixteen versions of a folder of 28,000 records are 21 MB,
// where as deltas they are the first version and a few dozen bytes for each of the others.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { fsyncDir, mkdirDurable, rmQuiet, tempPathFor } from '../util/durable.js';
import { hashObject, type ObjectType } from './hash.js';

const TYPE_CODES: Record<ObjectType, number> = { commit: 1, tree: 2, blob: 3, tag: 4 };
const OFS_DELTA = 6;

/** Trees smaller than this are stored whole: a delta would save too little to matter. */
const DELTA_MIN_BYTES = 1024;
/** How many trees written before a tree are tried as its delta base. */
const DELTA_CANDIDATES = 8;
/** A delta is kept only when it is smaller than this part of the tree. */
const DELTA_MAX_SHARE = 0.5;
/** The longest delta chain written (git's own default, pack.depth). */
const DELTA_MAX_DEPTH = 50;

interface PackedEntry {
  readonly oid: Buffer;
  readonly offset: number;
  readonly crc: number;
}

/** The variable-length object header: type and size, 4 bits then 7 bits per byte. */
function entryHeader(type: ObjectType | typeof OFS_DELTA, size: number): Buffer {
  const bytes: number[] = [];
  let byte = ((type === OFS_DELTA ? OFS_DELTA : TYPE_CODES[type]) << 4) | (size & 0x0f);
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    bytes.push(byte | 0x80);
    byte = rest & 0x7f;
    rest = Math.floor(rest / 128);
  }
  bytes.push(byte);
  return Buffer.from(bytes);
}

/** Adler-32 of `data` (RFC 1950), summed in runs short enough not to overflow. */
function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let start = 0; start < data.length; start += 5552) {
    const end = Math.min(start + 5552, data.length);
    for (let i = start; i < end; i++) {
      a += data[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/**
 * `data` as a zlib stream of stored (uncompressed) deflate blocks (RFC 1950/1951). A record is a
 * few hundred bytes: zlib's compressor costs 50-100 µs a call on this VM for its setup alone, as
 * much as the rest of a record in bulk, to save about 150 bytes. `git gc` recompresses later.
 */
export function zlibStored(data: Uint8Array): Buffer {
  const blocks = Math.max(1, Math.ceil(data.length / 0xffff));
  const out = Buffer.alloc(2 + data.length + blocks * 5 + 4);
  out[0] = 0x78;
  out[1] = 0x01;
  let at = 2;
  for (let k = 0; k < blocks; k++) {
    const chunk = data.subarray(k * 0xffff, (k + 1) * 0xffff);
    out[at] = k === blocks - 1 ? 1 : 0;
    out.writeUInt16LE(chunk.length, at + 1);
    out.writeUInt16LE(~chunk.length & 0xffff, at + 3);
    out.set(chunk, at + 5);
    at += 5 + chunk.length;
  }
  out.writeUInt32BE(adler32(data), at);
  return out;
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

function writeDurably(file: string, chunks: readonly Buffer[]): void {
  const fd = fs.openSync(file, 'wx', 0o444);
  try {
    for (const chunk of chunks) fs.writeSync(fd, chunk);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** One object as a pack holds it: its id, its header and zlib data, and their CRC-32. */
export interface RawEntry {
  readonly oid: Buffer;
  /** The entry as stored: its header, for a delta the distance back to its base, zlib data. */
  readonly data: Buffer;
  readonly crc: number;
  /**
   * An OFS_DELTA: the id of its base, and where in `data` the distance to it is (`length`
   * bytes at `at`, 0 before it is first placed). Rewritten wherever the entry is written.
   */
  readonly delta?: { readonly base: Buffer; readonly at: number; readonly length: number };
}

/** A tree written earlier in the pack, tried as the delta base of the trees after it. */
interface DeltaBase {
  readonly oid: Buffer;
  readonly content: Uint8Array;
  /** How many deltas lie between it and a whole object. */
  readonly depth: number;
}

/**
 * Write `objects` as one pack and its index under `objects/pack/`, durably. Returns the ids of
 * the objects in input order. A tree close to one of the trees just before it is stored as a
 * delta on it.
 */
export function writePack(
  objectsDir: string,
  objects: readonly { readonly type: ObjectType; readonly content: Uint8Array }[],
  onObject?: (done: number, total: number) => void,
): string[] {
  const ids: string[] = [];
  const raw: RawEntry[] = [];
  const seen = new Set<string>();
  const trees: DeltaBase[] = [];
  for (const object of objects) {
    const oid = hashObject(object.type, object.content);
    ids.push(oid);
    if (seen.has(oid)) continue;
    seen.add(oid);
    const id = Buffer.from(oid, 'hex');
    const isTree = object.type === 'tree' && object.content.length >= DELTA_MIN_BYTES;
    const delta = isTree ? smallestDelta(trees, object.content) : undefined;
    if (delta === undefined) {
      const data = Buffer.concat([
        entryHeader(object.type, object.content.length),
        zlibStored(object.content),
      ]);
      raw.push({ oid: id, data, crc: crc32(data) });
    } else {
      const header = entryHeader(OFS_DELTA, delta.bytes.length);
      const data = Buffer.concat([header, zlibStored(delta.bytes)]);
      raw.push({
        oid: id,
        data,
        crc: 0,
        delta: { base: delta.base.oid, at: header.length, length: 0 },
      });
    }
    if (isTree) {
      trees.push({ oid: id, content: object.content, depth: (delta?.base.depth ?? -1) + 1 });
      if (trees.length > DELTA_CANDIDATES) trees.shift();
    }
    onObject?.(ids.length, objects.length);
  }
  writeRawPack(objectsDir, raw);
  return ids;
}

/** The smallest delta of `content` on one of `bases`, if one is small enough to be worth it. */
function smallestDelta(
  bases: readonly DeltaBase[],
  content: Uint8Array,
): { base: DeltaBase; bytes: Buffer } | undefined {
  let best: { base: DeltaBase; bytes: Buffer } | undefined;
  for (let i = bases.length - 1; i >= 0; i--) {
    const base = bases[i]!;
    if (base.depth >= DELTA_MAX_DEPTH) continue;
    const bytes = encodeDelta(base.content, content);
    if (best === undefined || bytes.length < best.bytes.length) best = { base, bytes };
  }
  return best !== undefined && best.bytes.length < content.length * DELTA_MAX_SHARE
    ? best
    : undefined;
}

/** How many bytes `a` and `b` share at their start. */
function commonPrefix(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  let p = 0;
  // Compared a page at a time natively; then byte by byte within the page that differs.
  while (p + 4096 <= n && Buffer.compare(a.subarray(p, p + 4096), b.subarray(p, p + 4096)) === 0)
    p += 4096;
  while (p < n && a[p] === b[p]) p++;
  return p;
}

/** How many bytes `a` and `b` share at their end, at most `limit`. */
function commonSuffix(a: Uint8Array, b: Uint8Array, limit: number): number {
  let s = 0;
  while (
    s + 4096 <= limit &&
    Buffer.compare(
      a.subarray(a.length - s - 4096, a.length - s),
      b.subarray(b.length - s - 4096, b.length - s),
    ) === 0
  )
    s += 4096;
  while (s < limit && a[a.length - 1 - s] === b[b.length - 1 - s]) s++;
  return s;
}

/**
 * A delta (gitformat-pack(5), "Deltified representation") that makes `target` from `base`:
 * their common start and end copied from the base, what lies between inserted.
 */
export function encodeDelta(base: Uint8Array, target: Uint8Array): Buffer {
  const prefix = commonPrefix(base, target);
  const suffix = commonSuffix(base, target, Math.min(base.length, target.length) - prefix);
  const out: number[] = [];
  pushSize(out, base.length);
  pushSize(out, target.length);
  pushCopy(out, 0, prefix);
  for (let at = prefix; at < target.length - suffix; at += 0x7f) {
    const end = Math.min(at + 0x7f, target.length - suffix);
    out.push(end - at);
    for (let i = at; i < end; i++) out.push(target[i]!);
  }
  pushCopy(out, base.length - suffix, suffix);
  return Buffer.from(out);
}

function pushSize(out: number[], size: number): void {
  let rest = size;
  while (rest >= 0x80) {
    out.push(0x80 | (rest & 0x7f));
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
}

/** Copy instructions for `length` bytes of the base from `offset` (each copies up to 16 MiB - 1). */
function pushCopy(out: number[], offset: number, length: number): void {
  for (let done = 0; done < length;) {
    const n = Math.min(length - done, 0xffffff);
    const from = offset + done;
    const op = out.length;
    out.push(0x80);
    for (let i = 0; i < 4; i++) {
      const byte = Math.floor(from / 2 ** (8 * i)) & 0xff;
      if (byte !== 0) {
        out[op]! |= 1 << i;
        out.push(byte);
      }
    }
    for (let i = 0; i < 3; i++) {
      const byte = Math.floor(n / 2 ** (8 * i)) & 0xff;
      if (byte !== 0) {
        out[op]! |= 1 << (4 + i);
        out.push(byte);
      }
    }
    done += n;
  }
}

/** An OFS_DELTA's distance back to its base, as git writes it. */
function distanceBytes(distance: number): Buffer {
  const bytes = [distance & 0x7f];
  for (let rest = Math.floor(distance / 0x80); rest > 0; rest = Math.floor(rest / 0x80)) {
    rest -= 1;
    bytes.unshift(0x80 | (rest & 0x7f));
  }
  return Buffer.from(bytes);
}

/**
 * The entries of a pack, as stored, from its version 2 index; undefined when the index is not
 * version 2, a CRC does not match, or an entry is a REF_DELTA or an OFS_DELTA whose base is no
 * entry (git's thin packs, never ours). An OFS_DELTA names its base by its place in this pack:
 * it is returned with its base's id, and writeRawPack places it anew. Reads nothing through
 * zlib.
 */
export function rawEntries(pack: Buffer, idx: Buffer): RawEntry[] | undefined {
  if (idx.length < 8 + 1024 || idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2)
    return undefined;
  const count = idx.readUInt32BE(8 + 255 * 4);
  const oids = 8 + 1024;
  const crcs = oids + count * 20;
  const offsets = crcs + count * 4;
  if (idx.length < offsets + count * 4 + 40 || pack.length < 12 + 20) return undefined;
  const located: { at: number; i: number }[] = [];
  for (let i = 0; i < count; i++) {
    const at = idx.readUInt32BE(offsets + i * 4);
    if (at >= 0x80000000) return undefined; // a pack of 2 GiB or more is never small
    located.push({ at, i });
  }
  located.sort((a, b) => a.at - b.at);
  const byOffset = new Map(located.map(({ at, i }) => [at, i]));
  const oidAt = (i: number): Buffer => idx.subarray(oids + i * 20, oids + i * 20 + 20);
  const entries: RawEntry[] = [];
  for (const [k, { at, i }] of located.entries()) {
    const end = k + 1 < located.length ? located[k + 1]!.at : pack.length - 20;
    if (at < 12 || end <= at || end > pack.length - 20) return undefined;
    const type = (pack[at]! >> 4) & 7;
    if ((type < 1 || type > 4) && type !== OFS_DELTA) return undefined;
    const data = pack.subarray(at, end);
    const crc = idx.readUInt32BE(crcs + i * 4);
    if (crc32(data) !== crc) return undefined;
    if (type !== OFS_DELTA) {
      entries.push({ oid: oidAt(i), data, crc });
      continue;
    }
    let pos = 1;
    while (data[pos - 1]! & 0x80 && pos < data.length) pos++;
    const start = pos;
    let byte = data[pos++]!;
    let back = byte & 0x7f;
    while (byte & 0x80 && pos < data.length) {
      byte = data[pos++]!;
      back = (back + 1) * 128 + (byte & 0x7f);
    }
    const base = byOffset.get(at - back);
    if (base === undefined || back === 0) return undefined;
    entries.push({
      oid: oidAt(i),
      data,
      crc,
      delta: { base: oidAt(base), at: start, length: pos - start },
    });
  }
  return entries;
}

/**
 * Write entries (distinct ids) as one pack and its index, durably. A delta's base must come
 * before it; its distance back is written for where the two are now. Returns the pack's path
 * without its extension (a pack is named by the hash of its content).
 */
export function writeRawPack(objectsDir: string, raw: readonly RawEntry[]): string {
  const entries: PackedEntry[] = [];
  const chunks: Buffer[] = [];
  const packHash = createHash('sha1');
  let offset = 12;
  // (No spreading of the entries into calls: a join holds tens of thousands of them, more
  // arguments than the stack takes.)
  chunks.push(Buffer.concat([Buffer.from('PACK'), u32(2), u32(raw.length)]));
  const placed = new Map<string, number>();
  for (const entry of raw) {
    let { data, crc } = entry;
    if (entry.delta !== undefined) {
      const base = placed.get(entry.delta.base.toString('hex'));
      if (base === undefined)
        throw new Error(
          `the delta ${entry.oid.toString('hex')} comes before its base ${entry.delta.base.toString('hex')}`,
        );
      const { at, length } = entry.delta;
      data = Buffer.concat([
        data.subarray(0, at),
        distanceBytes(offset - base),
        data.subarray(at + length),
      ]);
      crc = crc32(data);
    }
    placed.set(entry.oid.toString('hex'), offset);
    entries.push({ oid: entry.oid, offset, crc });
    chunks.push(data);
    offset += data.length;
  }
  for (const chunk of chunks) packHash.update(chunk);
  const packChecksum = packHash.digest();
  chunks.push(packChecksum);

  entries.sort((a, b) => Buffer.compare(a.oid, b.oid));
  const fanout = Buffer.alloc(256 * 4);
  let cursor = 0;
  for (let byte = 0; byte < 256; byte++) {
    while (cursor < entries.length && entries[cursor]!.oid[0]! <= byte) cursor++;
    fanout.writeUInt32BE(cursor, byte * 4);
  }
  const large: Buffer[] = [];
  const offsets = entries.map((e) => {
    if (e.offset < 0x80000000) return u32(e.offset);
    const big = Buffer.alloc(8);
    big.writeBigUInt64BE(BigInt(e.offset));
    large.push(big);
    return u32(0x80000000 | (large.length - 1));
  });
  const crcs = Buffer.alloc(entries.length * 4);
  entries.forEach((e, i) => crcs.writeUInt32BE(e.crc, i * 4));
  const index = [
    Buffer.from([0xff, 0x74, 0x4f, 0x63]),
    u32(2),
    fanout,
    Buffer.concat(entries.map((e) => e.oid)),
    crcs,
    Buffer.concat(offsets),
    Buffer.concat(large),
    packChecksum,
  ];
  const indexHash = createHash('sha1');
  for (const chunk of index) indexHash.update(chunk);
  index.push(indexHash.digest());

  const packDir = path.join(objectsDir, 'pack');
  mkdirDurable(packDir);
  const base = path.join(packDir, `pack-${packChecksum.toString('hex')}`);
  const packTemp = tempPathFor(`${base}.pack`);
  const indexTemp = tempPathFor(`${base}.idx`);
  try {
    writeDurably(packTemp, chunks);
    writeDurably(indexTemp, index);
    fs.renameSync(packTemp, `${base}.pack`);
    fs.renameSync(indexTemp, `${base}.idx`);
    fsyncDir(packDir);
  } finally {
    rmQuiet(packTemp);
    rmQuiet(indexTemp);
  }
  return base;
}
