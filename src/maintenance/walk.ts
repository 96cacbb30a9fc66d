// The walk of a store's record folders that verify compares with HEAD and git's index: every
// entry's kind and the stat data git keeps, never its bytes. At 100,000 records it is one
// `lstat` a file (the kernel's time, most of it), so verify's scan thread does it while the main
// thread reads the git index, the rows and HEAD; packed into a few buffers, the walk crosses
// to the main thread in one message instead of a hundred thousand objects.

import fs from 'node:fs';
import path from 'node:path';
import { STAT_BLOCK, statBlock, writeStatBlock } from '../git/index-file.js';
import { RECORD_ROOTS } from '../record/paths.js';

/**
 * A working file in a record folder, as the walk saw it: what git's stat cache compares, not
 * the whole stat (a million of those would not fit in a heap).
 */
export interface WorkFile {
  readonly path: string;
  readonly kind: 'file' | 'link' | 'other';
  /** Modification time, in nanoseconds since the epoch. */
  readonly mtimeNs: bigint;
  /**
   * The stat data git keeps in its index for the file (statBlock), as a latin1 string (a
   * small Buffer each would cost several times its size); empty for a non-file.
   */
  readonly stat: string;
}

/** A walk as it crosses between threads: one string and three buffers (transferable). */
export interface PackedWalk {
  /** Every path, each followed by a NUL (which no file name holds). */
  readonly paths: string;
  readonly kinds: Uint8Array;
  readonly mtimes: BigInt64Array;
  /** The statBlock of each entry, STAT_BLOCK bytes apiece (zeros for a non-file). */
  readonly stats: Uint8Array;
}

const KINDS = ['file', 'link', 'other'] as const;

function kindOf(stat: fs.BigIntStats): WorkFile['kind'] {
  return stat.isFile() ? 'file' : stat.isSymbolicLink() ? 'link' : 'other';
}

/**
 * Each entry of the record folders of the store at `dir`, with its lstat, in walk order. An
 * entry that `unstated` names and that its folder lists as a regular file is visited without
 * one (undefined): its kind is the folder's word.
 */
function walk(
  dir: string,
  visit: (relative: string, stat: fs.BigIntStats | undefined) => void,
  unstated?: (relative: string) => boolean,
): void {
  const into = (relative: string): void => {
    let names: string[];
    let plain: Set<string> | undefined;
    try {
      if (unstated === undefined) names = fs.readdirSync(path.join(dir, relative));
      else {
        const entries = fs.readdirSync(path.join(dir, relative), { withFileTypes: true });
        names = entries.map((entry) => entry.name);
        plain = new Set(entries.filter((entry) => entry.isFile()).map((entry) => entry.name));
      }
    } catch {
      return;
    }
    for (const name of names) {
      const p = `${relative}/${name}`;
      if (plain?.has(name) === true && unstated!(p)) {
        visit(p, undefined);
        continue;
      }
      // verify takes no lock: a writer may rename its temp file into place (or a rollback
      // remove a file) between the listing and this look. What vanished is not there.
      const stat = fs.lstatSync(path.join(dir, p), { bigint: true, throwIfNoEntry: false });
      if (stat === undefined) continue;
      if (stat.isDirectory()) into(p);
      else visit(p, stat);
    }
  };
  for (const root of RECORD_ROOTS) {
    // A record root that is a link is reported as one, never walked into.
    const stat = fs.lstatSync(path.join(dir, root), { bigint: true, throwIfNoEntry: false });
    if (stat?.isSymbolicLink()) visit(root, stat);
    else into(root);
  }
}

/**
 * The record folders of the store at `dir`, by path. Files that `unstated` names (verify
 * --deep: those HEAD holds, every one of which it reads and hashes) are taken as their folder
 * lists them, without an lstat each: their mtime is then 0 and their stat data empty, which
 * nothing trusts.
 */
export function walkRecordFolders(
  dir: string,
  unstated?: (relative: string) => boolean,
): Map<string, WorkFile> {
  const files = new Map<string, WorkFile>();
  walk(
    dir,
    (p, stat) => {
      const kind = stat === undefined ? 'file' : kindOf(stat);
      files.set(p, {
        path: p,
        kind,
        mtimeNs: stat?.mtimeNs ?? 0n,
        stat: stat !== undefined && kind === 'file' ? statBlock(stat).toString('latin1') : '',
      });
    },
    unstated,
  );
  return files;
}

/** walkRecordFolders, packed to cross to another thread. */
export function packedWalk(dir: string): PackedWalk {
  const paths: string[] = [];
  const kinds: number[] = [];
  const mtimes: bigint[] = [];
  let stats = Buffer.alloc(STAT_BLOCK * 4096);
  // No entry goes without its lstat here (no `unstated`).
  walk(dir, (p, given) => {
    const stat = given!;
    const kind = kindOf(stat);
    const at = paths.length * STAT_BLOCK;
    if (at + STAT_BLOCK > stats.length) {
      const grown = Buffer.alloc(stats.length * 2);
      stats.copy(grown);
      stats = grown;
    }
    if (kind === 'file') writeStatBlock(stat, stats, at);
    paths.push(p);
    kinds.push(KINDS.indexOf(kind));
    mtimes.push(stat.mtimeNs);
  });
  // A buffer of its own (not a slice of Node's pool), so that it can be transferred.
  const packed = new Uint8Array(paths.length * STAT_BLOCK);
  packed.set(stats.subarray(0, packed.length));
  return {
    paths: paths.map((p) => `${p}\0`).join(''),
    kinds: Uint8Array.from(kinds),
    mtimes: BigInt64Array.from(mtimes),
    stats: packed,
  };
}

/** A packed walk as walkRecordFolders returns it. */
export function unpackWalk(packed: PackedWalk): Map<string, WorkFile> {
  const files = new Map<string, WorkFile>();
  const stats = Buffer.from(packed.stats.buffer, packed.stats.byteOffset, packed.stats.length);
  let from = 0;
  for (let i = 0; i < packed.kinds.length; i++) {
    const to = packed.paths.indexOf('\0', from);
    const p = packed.paths.slice(from, to);
    from = to + 1;
    const kind = KINDS[packed.kinds[i]!]!;
    files.set(p, {
      path: p,
      kind,
      mtimeNs: packed.mtimes[i]!,
      stat: kind === 'file' ? stats.toString('latin1', i * STAT_BLOCK, (i + 1) * STAT_BLOCK) : '',
    });
  }
  return files;
}
