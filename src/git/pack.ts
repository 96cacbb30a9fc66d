// Writing a packfile: many objects in one file, fsynced once. A transaction of thousands of
// records (recordMany, the importer) would otherwise write and fsync thousands of loose objects.
// Objects are stored whole (no deltas): version 2 pack, version 2 index, as git documents them
// in gitformat-pack(5). The index is renamed into place last, since git finds packs by it.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { fsyncDir, mkdirDurable, rmQuiet, tempPathFor } from '../util/durable.js';
import { hashObject, type ObjectType } from './hash.js';

const TYPE_CODES: Record<ObjectType, number> = { commit: 1, tree: 2, blob: 3, tag: 4 };

interface PackedEntry {
  readonly oid: Buffer;
  readonly offset: number;
  readonly crc: number;
}

/** The variable-length object header: type and size, 4 bits then 7 bits per byte. */
function entryHeader(type: ObjectType, size: number): Buffer {
  const bytes: number[] = [];
  let byte = (TYPE_CODES[type] << 4) | (size & 0x0f);
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
  readonly data: Buffer;
  readonly crc: number;
}

/**
 * Write `objects` as one pack and its index under `objects/pack/`, durably. Returns the ids of
 * the objects in input order.
 */
export function writePack(
  objectsDir: string,
  objects: readonly { readonly type: ObjectType; readonly content: Uint8Array }[],
  onObject?: (done: number, total: number) => void,
): string[] {
  const ids: string[] = [];
  const raw: RawEntry[] = [];
  const seen = new Set<string>();
  for (const object of objects) {
    const oid = hashObject(object.type, object.content);
    ids.push(oid);
    if (seen.has(oid)) continue;
    seen.add(oid);
    const data = Buffer.concat([
      entryHeader(object.type, object.content.length),
      zlibStored(object.content),
    ]);
    raw.push({ oid: Buffer.from(oid, 'hex'), data, crc: crc32(data) });
    onObject?.(ids.length, objects.length);
  }
  writeRawPack(objectsDir, raw);
  return ids;
}

/**
 * The entries of a pack, as stored, from its version 2 index; undefined when the index is not
 * version 2, a CRC does not match, or an entry is a delta (which names another object by its
 * place in this pack, so cannot move as it is). Reads no object through zlib.
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
  const entries: RawEntry[] = [];
  for (const [k, { at, i }] of located.entries()) {
    const end = k + 1 < located.length ? located[k + 1]!.at : pack.length - 20;
    if (at < 12 || end <= at || end > pack.length - 20) return undefined;
    const type = (pack[at]! >> 4) & 7;
    if (type < 1 || type > 4) return undefined;
    const data = pack.subarray(at, end);
    const crc = idx.readUInt32BE(crcs + i * 4);
    if (crc32(data) !== crc) return undefined;
    entries.push({ oid: idx.subarray(oids + i * 20, oids + i * 20 + 20), data, crc });
  }
  return entries;
}

/**
 * Write entries (distinct ids) as one pack and its index, durably. Returns the pack's path
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
  for (const { oid, data, crc } of raw) {
    entries.push({ oid, offset, crc });
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
