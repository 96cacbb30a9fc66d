// The git index (.git/index, "DIRC"), edited the way native git would leave it so that
// `git status` in the store stays clean. A record adds one entry: instead of re-serialising
// every entry we splice the new ones into the existing bytes, keep the cache tree (TREE) with
// the changed folders marked invalid, drop the optional extensions whose offsets or caches
// the splice makes stale (EOIE, IEOT, UNTR, FSMN, ...), and write a fresh checksum.

import { createHash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { IndexFormatError, UnsupportedIndexError } from '../errors/index.js';

const SIGNATURE = 'DIRC';
const HEADER = 12;
const HASH = 20;
export const STAT_BLOCK = 40; // ctime, mtime (s + ns each), dev, ino, mode, uid, gid, size
const FLAG_EXTENDED = 0x4000;
const NAME_MASK = 0x0fff;

export interface IndexEntry {
  readonly path: string;
  readonly oid: string;
  readonly mode: number;
  /** 0 for a normal entry, 1-3 for the sides of a merge conflict. */
  readonly stage: number;
  /** The 40-byte stat block exactly as stored. */
  readonly stat: Buffer;
}

/** Build an entry for a working file whose bytes are known to equal the blob `oid`. */
export function entryFromStat(
  path: string,
  oid: string,
  stat: BigIntStats | undefined,
): IndexEntry {
  return { path, oid, mode: 0o100644, stage: 0, stat: statBlock(stat) };
}

/**
 * The stat data git keeps of a file in its index (ctime, mtime, dev, ino, mode, uid, gid,
 * size, as git truncates them), for a regular file of mode 100644; zeros without a stat.
 */
export function statBlock(stat: BigIntStats | undefined): Buffer {
  return writeStatBlock(stat, Buffer.alloc(STAT_BLOCK), 0);
}

/** statBlock, written into `block` at `at` (many of them in one buffer). Returns `block`. */
export function writeStatBlock(stat: BigIntStats | undefined, block: Buffer, at: number): Buffer {
  const mode = 0o100644;
  if (stat !== undefined) {
    const u32 = (v: bigint): number => Number(BigInt.asUintN(32, v));
    block.writeUInt32BE(u32(stat.ctimeNs / 1_000_000_000n), at);
    block.writeUInt32BE(u32(stat.ctimeNs % 1_000_000_000n), at + 4);
    block.writeUInt32BE(u32(stat.mtimeNs / 1_000_000_000n), at + 8);
    block.writeUInt32BE(u32(stat.mtimeNs % 1_000_000_000n), at + 12);
    block.writeUInt32BE(u32(stat.dev), at + 16);
    block.writeUInt32BE(u32(stat.ino), at + 20);
    block.writeUInt32BE(u32(stat.uid), at + 28);
    block.writeUInt32BE(u32(stat.gid), at + 32);
    block.writeUInt32BE(u32(stat.size), at + 36);
  }
  block.writeUInt32BE(mode, at + 24);
  return block;
}

function encodeEntry(entry: IndexEntry): Buffer {
  const name = Buffer.from(entry.path, 'utf8');
  const size = (62 + name.length + 8) & ~7;
  const out = Buffer.alloc(size);
  entry.stat.copy(out, 0, 0, STAT_BLOCK);
  out.writeUInt32BE(entry.mode, 24);
  out.write(entry.oid, 40, 'hex');
  out.writeUInt16BE(((entry.stage & 3) << 12) | Math.min(name.length, NAME_MASK), 60);
  name.copy(out, 62);
  return out;
}

interface Located {
  readonly version: number;
  readonly count: number;
  /** Start offset of every entry, plus the end of the last one. */
  readonly starts: Uint32Array;
  readonly pathStarts: Uint32Array;
  readonly pathEnds: Uint32Array;
  readonly entriesEnd: number;
}

function checkHeader(buf: Buffer): { version: number; count: number } {
  if (buf.length < HEADER + HASH || buf.toString('latin1', 0, 4) !== SIGNATURE)
    throw new IndexFormatError('bad signature');
  const version = buf.readUInt32BE(4);
  if (version < 2 || version > 4) throw new IndexFormatError(`unknown version ${version}`);
  const sum = createHash('sha1')
    .update(buf.subarray(0, buf.length - HASH))
    .digest();
  const stored = buf.subarray(buf.length - HASH);
  // index.skipHash leaves the trailer zeroed.
  if (!sum.equals(stored) && !stored.equals(Buffer.alloc(HASH)))
    throw new IndexFormatError('checksum mismatch');
  return { version, count: buf.readUInt32BE(8) };
}

/** Find every entry of a version 2 or 3 index without decoding it. */
function locate(buf: Buffer): Located {
  const { version, count } = checkHeader(buf);
  if (version === 4) throw new UnsupportedIndexError('version 4');
  const starts = new Uint32Array(count + 1);
  const pathStarts = new Uint32Array(count);
  const pathEnds = new Uint32Array(count);
  let pos = HEADER;
  const limit = buf.length - HASH;
  for (let i = 0; i < count; i++) {
    if (pos + 62 > limit) throw new IndexFormatError('entry runs past the end');
    starts[i] = pos;
    const flags = buf.readUInt16BE(pos + 60);
    const fixed = 62 + (flags & FLAG_EXTENDED ? 2 : 0);
    let nameLen = flags & NAME_MASK;
    if (nameLen === NAME_MASK) nameLen = buf.indexOf(0, pos + fixed) - (pos + fixed);
    pathStarts[i] = pos + fixed;
    pathEnds[i] = pos + fixed + nameLen;
    pos += (fixed + nameLen + 8) & ~7;
  }
  starts[count] = pos;
  return { version, count, starts, pathStarts, pathEnds, entriesEnd: pos };
}

/** Decode every entry (any version). */
export function readIndexEntries(buf: Buffer): IndexEntry[] {
  const { version, count } = checkHeader(buf);
  const entries: IndexEntry[] = [];
  let pos = HEADER;
  let previous: Buffer = Buffer.alloc(0);
  for (let i = 0; i < count; i++) {
    const start = pos;
    const flags = buf.readUInt16BE(pos + 60);
    const fixed = 62 + (flags & FLAG_EXTENDED ? 2 : 0);
    let name: Buffer;
    if (version === 4) {
      // A varint of bytes to drop from the previous path, then the NUL-terminated suffix.
      let p = pos + fixed;
      let byte = buf[p++]!;
      let drop = byte & 0x7f;
      while (byte & 0x80) {
        byte = buf[p++]!;
        drop = ((drop + 1) << 7) | (byte & 0x7f);
      }
      const end = buf.indexOf(0, p);
      name = Buffer.concat([previous.subarray(0, previous.length - drop), buf.subarray(p, end)]);
      pos = end + 1;
    } else {
      let nameLen = flags & NAME_MASK;
      if (nameLen === NAME_MASK) nameLen = buf.indexOf(0, pos + fixed) - (pos + fixed);
      name = buf.subarray(pos + fixed, pos + fixed + nameLen);
      pos += (fixed + nameLen + 8) & ~7;
    }
    if (pos > buf.length - HASH) throw new IndexFormatError('entry runs past the end');
    entries.push({
      path: name.toString('utf8'),
      oid: buf.toString('hex', start + 40, start + 60),
      mode: buf.readUInt32BE(start + 24),
      stage: (flags >> 12) & 3,
      stat: Buffer.from(buf.subarray(start, start + STAT_BLOCK)),
    });
    previous = name;
  }
  return entries;
}

/** A complete version 2 index holding `entries` (any order) and no extensions. */
export function encodeIndex(entries: readonly IndexEntry[]): Buffer {
  const sorted = [...entries].sort(compareEntries);
  const header = Buffer.alloc(HEADER);
  header.write(SIGNATURE, 0, 'latin1');
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(sorted.length, 8);
  return withChecksum([header, ...sorted.map(encodeEntry)]);
}

function compareEntries(a: IndexEntry, b: IndexEntry): number {
  return (
    Buffer.compare(Buffer.from(a.path, 'utf8'), Buffer.from(b.path, 'utf8')) || a.stage - b.stage
  );
}

function withChecksum(parts: Buffer[]): Buffer {
  const hash = createHash('sha1');
  for (const part of parts) hash.update(part);
  return Buffer.concat([...parts, hash.digest()]);
}

export interface IndexChanges {
  /** Entries to add or replace (stage 0), by path. */
  readonly upsert: readonly IndexEntry[];
  /** Paths whose entries (all stages) are removed. */
  readonly remove: readonly string[];
}

/**
 * Apply `changes` to an existing index, touching only the bytes around the changed entries.
 * Throws UnsupportedIndexError for layouts it does not splice (version 4, split or sparse
 * index); the caller then rebuilds the index instead.
 */
export function spliceIndex(buf: Buffer | undefined, changes: IndexChanges): Buffer {
  if (buf === undefined) return encodeIndex(changes.upsert);
  const loc = locate(buf);
  const extensions = rewriteExtensions(buf, loc.entriesEnd, [
    ...changes.upsert.map((e) => e.path),
    ...changes.remove,
  ]);

  type Change = { key: Buffer; entry: IndexEntry | undefined };
  const byPath = new Map<string, Change>();
  for (const path of changes.remove)
    byPath.set(path, { key: Buffer.from(path, 'utf8'), entry: undefined });
  for (const entry of changes.upsert)
    byPath.set(entry.path, { key: Buffer.from(entry.path, 'utf8'), entry });
  const sorted = [...byPath.values()].sort((a, b) => Buffer.compare(a.key, b.key));

  const parts: Buffer[] = [];
  let count = loc.count;
  let copyFrom = HEADER;
  let cursor = 0; // index of the first entry not yet passed
  for (const change of sorted) {
    // First entry whose path is >= the change's path.
    let lo = cursor;
    let hi = loc.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      // buf.compare(target, ...) is the sign of (entry path - change path).
      if (buf.compare(change.key, 0, change.key.length, loc.pathStarts[mid], loc.pathEnds[mid]) < 0)
        lo = mid + 1;
      else hi = mid;
    }
    let end = lo;
    while (
      end < loc.count &&
      buf.compare(change.key, 0, change.key.length, loc.pathStarts[end], loc.pathEnds[end]) === 0
    )
      end++;
    parts.push(buf.subarray(copyFrom, loc.starts[lo]));
    count -= end - lo;
    if (change.entry !== undefined) {
      parts.push(encodeEntry(change.entry));
      count += 1;
    }
    copyFrom = loc.starts[end]!;
    cursor = end;
  }
  parts.push(buf.subarray(copyFrom, loc.entriesEnd));
  const header = Buffer.from(buf.subarray(0, HEADER));
  header.writeUInt32BE(count, 8);
  return withChecksum([header, ...parts, ...extensions]);
}

/**
 * Keep the extensions a splice leaves valid: the cache tree (with the folders of `paths`
 * invalidated) and the resolve-undo list. Optional extensions (upper-case signature) that
 * describe offsets or caches are dropped; git rebuilds them. Required ones stop the splice.
 */
function rewriteExtensions(buf: Buffer, from: number, paths: readonly string[]): Buffer[] {
  const kept: Buffer[] = [];
  let pos = from;
  const end = buf.length - HASH;
  while (pos + 8 <= end) {
    const signature = buf.toString('latin1', pos, pos + 4);
    const size = buf.readUInt32BE(pos + 4);
    const data = buf.subarray(pos + 8, pos + 8 + size);
    if (signature === 'TREE') {
      const tree = invalidateCacheTree(data, paths);
      const head = Buffer.alloc(8);
      head.write('TREE', 0, 'latin1');
      head.writeUInt32BE(tree.length, 4);
      kept.push(head, tree);
    } else if (signature === 'REUC') {
      kept.push(buf.subarray(pos, pos + 8 + size));
    } else if (signature === 'link' && linkIsPlain(data)) {
      // A split index adding entries to its shared index stays valid when entries are added.
      kept.unshift(buf.subarray(pos, pos + 8 + size));
    } else if (!/^[A-Z]/.test(signature)) {
      throw new UnsupportedIndexError(`the required extension "${signature}"`);
    }
    pos += 8 + size;
  }
  return kept;
}

// Split index (git's "link" extension): .git/index holds only the entries added since the
// shared index `sharedindex.<sha>` was written, plus the extensions. A record then rewrites a
// file of a few entries instead of one holding every file of the store. We write split indexes
// without delete or replace bitmaps: a new entry whose path is also in the shared index
// replaces it when git merges the two. Indexes with bitmaps (git's own, under
// core.splitIndex) are read by unsplitting and never spliced.

/** A link extension naming a shared index, whose delete and replace bitmaps have no bit set. */
function linkIsPlain(data: Buffer): boolean {
  if (data.length === HASH) return true;
  // Two EWAH bitmaps: bit count, word count, 64-bit words, position of the last marker word.
  // Marker words hold a running bit (bit 0) and the number of literal words that follow them.
  let pos = HASH;
  for (let i = 0; i < 2; i++) {
    if (pos + 8 > data.length) return false;
    const words = data.readUInt32BE(pos + 4);
    pos += 8;
    if (pos + words * 8 + 4 > data.length) return false;
    for (let w = 0; w < words;) {
      const marker = data.readBigUInt64BE(pos + w * 8);
      if ((marker & 1n) !== 0n && ((marker >> 1n) & 0xffffffffn) !== 0n) return false;
      const literals = Number(marker >> 33n);
      for (let l = 1; l <= literals; l++) {
        if (w + l >= words || data.readBigUInt64BE(pos + (w + l) * 8) !== 0n) return false;
      }
      w += 1 + literals;
    }
    pos += words * 8 + 4;
  }
  return pos === data.length;
}

interface Extension {
  readonly signature: string;
  readonly data: Buffer;
  /** Header and data, as stored. */
  readonly raw: Buffer;
}

function extensionsOf(buf: Buffer, from: number): Extension[] {
  const found: Extension[] = [];
  let pos = from;
  const end = buf.length - HASH;
  while (pos + 8 <= end) {
    const size = buf.readUInt32BE(pos + 4);
    if (pos + 8 + size > end) throw new IndexFormatError('an extension runs past the end');
    found.push({
      signature: buf.toString('latin1', pos, pos + 4),
      data: buf.subarray(pos + 8, pos + 8 + size),
      raw: buf.subarray(pos, pos + 8 + size),
    });
    pos += 8 + size;
  }
  return found;
}

/** The number of entries the index file itself holds (for a split index: its own part). */
export function entryCount(buf: Buffer): number {
  return checkHeader(buf).count;
}

/** The id (hex) of the shared index a split index names, or undefined for a plain index. */
export function sharedIndexId(buf: Buffer): string | undefined {
  const loc = locate(buf);
  const link = extensionsOf(buf, loc.entriesEnd).find((e) => e.signature === 'link');
  if (link === undefined) return undefined;
  const id = link.data.toString('hex', 0, HASH);
  return /^0+$/.test(id) ? undefined : id;
}

/**
 * The folders whose cache-tree entry in `buf` is valid, each with the tree its entries make
 * ('' is the root). git keeps this extension (TREE) so that a commit need not hash folders
 * whose entries did not change; for us a valid folder equal to HEAD's proves that the index
 * holds exactly HEAD's files under it, without reading HEAD's trees below.
 */
export function validCacheTrees(buf: Buffer): Map<string, string> {
  const valid = new Map<string, string>();
  const tree = extensionsOf(buf, locate(buf).entriesEnd).find((e) => e.signature === 'TREE');
  if (tree === undefined || tree.data.length === 0) return valid;
  const visit = (node: CacheTreeNode, base: string): void => {
    const here = base === '' ? node.name : `${base}/${node.name}`;
    if (node.entryCount >= 0 && node.oid !== undefined) valid.set(here, node.oid.toString('hex'));
    for (const child of node.children) visit(child, here);
  };
  visit(parseCacheTree(tree.data), '');
  return valid;
}

/**
 * The shared index a split index links to (checked against its name), located, and the paths of
 * the split part's own entries, which win over the shared ones. Bitmaps are not merged here.
 */
function linkedShared(
  buf: Buffer,
  loc: Located,
  link: Extension,
  loadShared: (id: string) => Buffer,
): { shared: Buffer; sharedLoc: Located; own: Set<string> } {
  if (!linkIsPlain(link.data)) throw new UnsupportedIndexError('a split index with bitmaps');
  const id = link.data.toString('hex', 0, HASH);
  const shared = loadShared(id);
  const sharedLoc = locate(shared);
  if (shared.toString('hex', shared.length - HASH) !== id)
    throw new IndexFormatError(`sharedindex.${id} does not match its name`);
  const own = new Set<string>();
  for (let i = 0; i < loc.count; i++)
    own.add(buf.toString('utf8', loc.pathStarts[i], loc.pathEnds[i]));
  return { shared, sharedLoc, own };
}

/**
 * The plain index equivalent to `buf`: a split index merged with its shared index (entries of
 * the split part win by path), its other extensions kept. A plain index comes back as is.
 */
export function unsplitIndex(buf: Buffer, loadShared: (id: string) => Buffer): Buffer {
  const loc = locate(buf);
  const extensions = extensionsOf(buf, loc.entriesEnd);
  const link = extensions.find((e) => e.signature === 'link');
  if (link === undefined) return buf;
  const { shared, sharedLoc, own } = linkedShared(buf, loc, link, loadShared);
  const merged: { key: Buffer; raw: Buffer }[] = [];
  for (let i = 0; i < sharedLoc.count; i++) {
    const key = shared.subarray(sharedLoc.pathStarts[i], sharedLoc.pathEnds[i]);
    if (own.has(key.toString('utf8'))) continue;
    merged.push({ key, raw: shared.subarray(sharedLoc.starts[i], sharedLoc.starts[i + 1]) });
  }
  for (let i = 0; i < loc.count; i++) {
    merged.push({
      key: buf.subarray(loc.pathStarts[i], loc.pathEnds[i]),
      raw: buf.subarray(loc.starts[i], loc.starts[i + 1]),
    });
  }
  // Stable: entries of one path keep their stage order.
  merged.sort((a, b) => Buffer.compare(a.key, b.key));
  const header = Buffer.from(buf.subarray(0, HEADER));
  header.writeUInt32BE(Math.max(loc.version, sharedLoc.version), 4);
  header.writeUInt32BE(merged.length, 8);
  return withChecksum([
    header,
    ...merged.map((m) => m.raw),
    ...extensions.filter((e) => e.signature !== 'link').map((e) => e.raw),
  ]);
}

/** What verify compares of an entry: its blob, and its stat data as a latin1 string. */
export interface IndexStat {
  readonly oid: string;
  readonly stat: string;
}

/**
 * The stage-0 entries of `buf` by path, as `readIndexEntries(unsplitIndex(buf, ...))` would
 * give them, but only what verify compares: read in place, with no merged copy of a split
 * index, no sort and no Buffer per entry. Throws UnsupportedIndexError where unsplitIndex or
 * the plain reader does (the caller then reads the index the general way).
 */
export function indexStats(
  buf: Buffer,
  loadShared: (id: string) => Buffer,
): Map<string, IndexStat> {
  const loc = locate(buf);
  const link = extensionsOf(buf, loc.entriesEnd).find((e) => e.signature === 'link');
  const out = new Map<string, IndexStat>();
  const add = (from: Buffer, at: Located, i: number): void => {
    const start = at.starts[i]!;
    if (((from.readUInt16BE(start + 60) >> 12) & 3) !== 0) return;
    out.set(from.toString('utf8', at.pathStarts[i], at.pathEnds[i]), {
      oid: from.toString('hex', start + 40, start + 60),
      stat: from.toString('latin1', start, start + STAT_BLOCK),
    });
  };
  if (link !== undefined) {
    // Entries of the split part win by path, whatever their stage.
    const { shared, sharedLoc, own } = linkedShared(buf, loc, link, loadShared);
    for (let i = 0; i < sharedLoc.count; i++)
      if (!own.has(shared.toString('utf8', sharedLoc.pathStarts[i], sharedLoc.pathEnds[i])))
        add(shared, sharedLoc, i);
  }
  for (let i = 0; i < loc.count; i++) add(buf, loc, i);
  return out;
}

/**
 * Split a plain index: `shared` is the file to store as `sharedindex.<id>` (every entry, no
 * extensions), `index` the new .git/index (no entries of its own, its extensions and a link).
 */
export function splitIndex(buf: Buffer): { id: string; shared: Buffer; index: Buffer } {
  const loc = locate(buf);
  const extensions = extensionsOf(buf, loc.entriesEnd);
  if (extensions.some((e) => e.signature === 'link'))
    throw new UnsupportedIndexError('a split index where a plain one was expected');
  const shared = withChecksum([buf.subarray(0, loc.entriesEnd)]);
  const id = shared.subarray(shared.length - HASH);
  const header = Buffer.from(buf.subarray(0, HEADER));
  header.writeUInt32BE(0, 8);
  // Git (2.39) expects both bitmaps to be present, even empty: 0 bits in one zero word.
  const emptyBitmap = Buffer.alloc(20);
  emptyBitmap.writeUInt32BE(1, 4);
  const linkHead = Buffer.alloc(8);
  linkHead.write('link', 0, 'latin1');
  linkHead.writeUInt32BE(HASH + 2 * emptyBitmap.length, 4);
  const index = withChecksum([
    header,
    linkHead,
    id,
    emptyBitmap,
    emptyBitmap,
    ...extensions.map((e) => e.raw),
  ]);
  return { id: id.toString('hex'), shared, index };
}

interface CacheTreeNode {
  name: string;
  entryCount: number;
  oid: Buffer | undefined;
  children: CacheTreeNode[];
}

function parseCacheTree(data: Buffer): CacheTreeNode {
  let pos = 0;
  const node = (): CacheTreeNode => {
    const nul = data.indexOf(0, pos);
    const name = data.toString('utf8', pos, nul);
    const newline = data.indexOf(0x0a, nul);
    const [countText, subtreesText] = data.toString('latin1', nul + 1, newline).split(' ');
    const entryCount = Number(countText);
    const subtrees = Number(subtreesText);
    if (nul < 0 || newline < 0 || !Number.isInteger(entryCount) || !Number.isInteger(subtrees)) {
      throw new IndexFormatError('the cache tree is malformed');
    }
    pos = newline + 1;
    let oid: Buffer | undefined;
    if (entryCount >= 0) {
      oid = data.subarray(pos, pos + HASH);
      pos += HASH;
    }
    const children: CacheTreeNode[] = [];
    for (let i = 0; i < subtrees; i++) children.push(node());
    return { name, entryCount, oid, children };
  };
  return node();
}

function serializeCacheTree(root: CacheTreeNode): Buffer {
  const parts: Buffer[] = [];
  const visit = (node: CacheTreeNode): void => {
    parts.push(Buffer.from(`${node.name}\0${node.entryCount} ${node.children.length}\n`, 'utf8'));
    if (node.entryCount >= 0 && node.oid !== undefined) parts.push(node.oid);
    for (const child of node.children) visit(child);
  };
  visit(root);
  return Buffer.concat(parts);
}

function invalidateCacheTree(data: Buffer, paths: readonly string[]): Buffer {
  if (data.length === 0) return data;
  const root = parseCacheTree(data);
  for (const path of paths) {
    const folders = path.split('/').slice(0, -1);
    let node: CacheTreeNode | undefined = root;
    for (let i = 0; node !== undefined; i++) {
      node.entryCount = -1;
      node.oid = undefined;
      if (i === folders.length) break;
      node = node.children.find((c) => c.name === folders[i]);
    }
  }
  return serializeCacheTree(root);
}
