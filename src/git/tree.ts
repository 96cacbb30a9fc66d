// Git trees: parsing, serialising in git's order, and an editor that rewrites only the trees on
// the paths it changes, so the cost of a commit follows the folders touched, not the store size.

import { CorruptObjectError } from '../errors/index.js';
import { type ObjectStore } from './objects.js';

export const MODE_FILE = '100644';
export const MODE_TREE = '40000';

export interface TreeEntry {
  readonly mode: string;
  readonly name: string;
  readonly oid: string;
}

export function isTreeMode(mode: string): boolean {
  return mode === MODE_TREE;
}

export function parseTree(oid: string, content: Buffer): TreeEntry[] {
  const entries: TreeEntry[] = [];
  let pos = 0;
  while (pos < content.length) {
    const space = content.indexOf(0x20, pos);
    const nul = content.indexOf(0, space + 1);
    if (space < 0 || nul < 0 || nul + 21 > content.length)
      throw new CorruptObjectError(oid, 'tree entry is truncated');
    entries.push({
      mode: content.toString('latin1', pos, space),
      name: content.toString('utf8', space + 1, nul),
      oid: content.toString('hex', nul + 1, nul + 21),
    });
    pos = nul + 21;
  }
  return entries;
}

/** Git orders entries by name bytes, comparing a tree's name as if it ended with "/". */
function sortKey(entry: TreeEntry): string {
  return isTreeMode(entry.mode) ? `${entry.name}/` : entry.name;
}

/**
 * UTF-16 order (JavaScript's string comparison) is UTF-8 byte order, except where a surrogate
 * pair (a character beyond U+FFFF) meets a character from U+E000 to U+FFFF.
 */
const SURROGATE = /[\uD800-\uDFFF]/;

/** A tree object's content: its entries in git's order, each "<mode> <name>\0<20-byte id>". */
export function serializeTree(entries: Iterable<TreeEntry>): Buffer {
  const keyed = [...entries].map((entry) => ({ entry, key: sortKey(entry) }));
  if (keyed.some(({ key }) => SURROGATE.test(key)))
    keyed.sort((a, b) => Buffer.compare(Buffer.from(a.key, 'utf8'), Buffer.from(b.key, 'utf8')));
  else keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  let size = 0;
  for (const { entry } of keyed)
    size += entry.mode.length + 1 + Buffer.byteLength(entry.name, 'utf8') + 1 + 20;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const { entry } of keyed) {
    at += out.write(entry.mode, at, 'latin1');
    out[at++] = 0x20;
    at += out.write(entry.name, at, 'utf8');
    out[at++] = 0;
    at += out.write(entry.oid, at, 20, 'hex');
  }
  if (at !== size) throw new Error(`a tree entry did not encode to its length (${at} of ${size})`);
  return out;
}

/**
 * A folder being edited. Parsed, it holds its entries by name. A folder only added to stays as
 * its stored bytes, `raw`, with each new entry noted at the place it goes: a month's folder of
 * 28,000 records then costs a copy per commit, not a parse, a sort and a rewrite. A record's
 * name begins with its ULID, so it usually goes after every name there (only the last entry's
 * name is needed); an import of older records goes between them (found by a binary search).
 */
interface Node {
  /** The entries by name; undefined while the node is still `raw`. */
  entries: Map<string, TreeEntry> | undefined;
  raw: Buffer | undefined;
  /** The sort key (UTF-8) of the last entry of `raw`, empty for none. */
  lastKey: Buffer;
  /** Where each entry of `raw` begins, and its end: found when first needed. */
  starts: number[] | undefined;
  /** New entries by name, each with the offset in `raw` it goes before. */
  inserts: Map<string, { at: number; key: Buffer; entry: TreeEntry }>;
  children: Map<string, Node>;
  dirty: boolean;
}

/** Where each entry of a tree begins, then the tree's length: each is "<mode> <name>\0<id>". */
function entryStarts(oid: string, content: Buffer): number[] {
  const starts: number[] = [];
  for (let pos = 0; pos < content.length;) {
    const nul = content.indexOf(0, pos);
    if (nul < 0 || nul + 21 > content.length)
      throw new CorruptObjectError(oid, 'tree entry is truncated');
    starts.push(pos);
    pos = nul + 21;
  }
  starts.push(content.length);
  return starts;
}

/** The sort key of the entry at `start` (git orders a folder's name as if it ended in "/"). */
function keyAt(oid: string, content: Buffer, start: number, end: number): Buffer {
  const space = content.indexOf(0x20, start);
  const nul = end - 21;
  if (space < 0 || space > nul) throw new CorruptObjectError(oid, 'tree entry has no mode');
  const name = content.subarray(space + 1, nul);
  return isTreeMode(content.toString('latin1', start, space))
    ? Buffer.concat([name, Buffer.from('/')])
    : name;
}

/** The sort key of a tree's last entry, from its bytes. */
export function lastEntryKey(oid: string, content: Buffer): Buffer {
  const starts = entryStarts(oid, content);
  if (starts.length < 2) return Buffer.alloc(0);
  return Buffer.from(keyAt(oid, content, starts.at(-2)!, content.length));
}

/** The index of the first entry whose key is not below `key`, and whether it equals it. */
function search(
  oid: string,
  content: Buffer,
  starts: readonly number[],
  key: Buffer,
): { index: number; found: boolean } {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (Buffer.compare(keyAt(oid, content, starts[mid]!, starts[mid + 1]!), key) < 0) low = mid + 1;
    else high = mid;
  }
  const found =
    low < starts.length - 1 &&
    Buffer.compare(keyAt(oid, content, starts[low]!, starts[low + 1]!), key) === 0;
  return { index: low, found };
}

/**
 * Applies file additions and removals to a base tree. Only the trees along changed paths are
 * read and written; everything else is shared with the base by id.
 */
export class TreeEditor {
  private readonly objects: ObjectStore;
  private readonly baseOid: string | undefined;
  private root: Node | undefined;

  constructor(objects: ObjectStore, baseOid: string | undefined) {
    this.objects = objects;
    this.baseOid = baseOid;
  }

  private async load(oid: string | undefined): Promise<Node> {
    const node: Node = {
      entries: new Map(),
      raw: undefined,
      lastKey: Buffer.alloc(0),
      starts: undefined,
      inserts: new Map(),
      children: new Map(),
      dirty: false,
    };
    if (oid === undefined) return node;
    const tree = await this.objects.readTree(oid);
    return { ...node, entries: undefined, raw: tree.content, lastKey: tree.lastKey };
  }

  /** The node's entries, parsing its stored bytes (and what was inserted) if need be. */
  private parsed(node: Node): Map<string, TreeEntry> {
    if (node.entries !== undefined) return node.entries;
    const entries = new Map<string, TreeEntry>();
    for (const entry of parseTree(this.baseOid ?? '(none)', node.raw!))
      entries.set(entry.name, entry);
    for (const { entry } of node.inserts.values()) entries.set(entry.name, entry);
    node.entries = entries;
    node.raw = undefined;
    node.starts = undefined;
    node.inserts = new Map();
    return entries;
  }

  /**
   * Where in the stored bytes of `node` a new file `name` goes; undefined when the folder
   * already has an entry of that name (a file, or a folder), which only a parse can replace.
   */
  private placeOf(node: Node, key: Buffer): number | undefined {
    const raw = node.raw!;
    if (Buffer.compare(key, node.lastKey) > 0) return raw.length;
    const oid = this.baseOid ?? '(none)';
    node.starts ??= entryStarts(oid, raw);
    const place = search(oid, raw, node.starts, key);
    if (place.found) return undefined;
    // A folder of the same name sorts as "<name>/": git allows no file beside it.
    if (search(oid, raw, node.starts, Buffer.concat([key, Buffer.from('/')])).found)
      return undefined;
    return node.starts[place.index]!;
  }

  /** The node for directory `parts`, loading trees on the way; creates missing ones when asked. */
  private async dir(parts: readonly string[], create: boolean): Promise<Node[] | undefined> {
    this.root ??= await this.load(this.baseOid);
    const chain = [this.root];
    let node = this.root;
    for (const name of parts) {
      let child = node.children.get(name);
      if (child === undefined) {
        const entry = this.parsed(node).get(name);
        if (entry !== undefined && !isTreeMode(entry.mode)) {
          throw new CorruptObjectError(
            this.baseOid ?? '(none)',
            `"${name}" is a file where a folder is expected`,
          );
        }
        if (entry === undefined && !create) return undefined;
        child = await this.load(entry?.oid);
        node.children.set(name, child);
      }
      chain.push(child);
      node = child;
    }
    return chain;
  }

  /** Add or replace the blob at `path`. */
  async set(filePath: string, blobOid: string, mode = MODE_FILE): Promise<void> {
    const parts = filePath.split('/');
    const name = parts.pop()!;
    const chain = (await this.dir(parts, true))!;
    const node = chain[chain.length - 1]!;
    const entry = { mode, name, oid: blobOid };
    const key = Buffer.from(name, 'utf8');
    const pending = node.inserts.get(name);
    const at =
      node.entries !== undefined || isTreeMode(mode)
        ? undefined
        : (pending?.at ?? this.placeOf(node, key));
    if (at !== undefined) {
      node.inserts.set(name, { at, key, entry });
    } else {
      const entries = this.parsed(node);
      const existing = entries.get(name);
      if (existing !== undefined && isTreeMode(existing.mode)) {
        throw new CorruptObjectError(
          this.baseOid ?? '(none)',
          `"${filePath}" is a folder where a file is expected`,
        );
      }
      entries.set(name, entry);
    }
    for (const n of chain) n.dirty = true;
  }

  /** Remove the file at `path`; folders left empty disappear. Returns false when absent. */
  async remove(filePath: string): Promise<boolean> {
    const parts = filePath.split('/');
    const name = parts.pop()!;
    const chain = await this.dir(parts, false);
    const node = chain?.[chain.length - 1];
    if (chain === undefined || node === undefined || !this.parsed(node).has(name)) return false;
    this.parsed(node).delete(name);
    for (const n of chain) n.dirty = true;
    return true;
  }

  /** Write every changed tree, deepest first, and return the new root tree id. */
  async write(): Promise<string> {
    this.root ??= await this.load(this.baseOid);
    return this.writeNode(this.root) ?? this.objects.write('tree', Buffer.alloc(0));
  }

  /** Write a changed tree; undefined when it ended up empty (git keeps no empty folders). */
  private writeNode(node: Node): string | undefined {
    if (node.entries === undefined) {
      // The stored bytes with each new entry at its place: the tree, in git's order.
      const raw = node.raw!;
      const inserts = [...node.inserts.values()].sort(
        (a, b) => a.at - b.at || Buffer.compare(a.key, b.key),
      );
      const chunks: Buffer[] = [];
      let from = 0;
      for (const { at, key, entry } of inserts) {
        chunks.push(raw.subarray(from, at), serializeTree([entry]));
        from = at;
        if (Buffer.compare(key, node.lastKey) > 0) node.lastKey = key;
      }
      chunks.push(raw.subarray(from));
      const content = Buffer.concat(chunks);
      node.raw = content;
      node.starts = undefined;
      node.inserts = new Map();
      node.dirty = false;
      return this.objects.writeTree(content, node.lastKey);
    }
    const entries = node.entries;
    for (const [name, child] of node.children) {
      if (!child.dirty) continue;
      const oid = this.writeNode(child);
      if (oid === undefined) entries.delete(name);
      else entries.set(name, { mode: MODE_TREE, name, oid });
    }
    node.dirty = false;
    if (entries.size === 0) return undefined;
    return this.objects.write('tree', serializeTree(entries.values()));
  }
}

/** Every file under a tree, as path -> blob id, walking subtrees. */
export async function listTree(
  objects: ObjectStore,
  treeOid: string,
  prefix = '',
): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (oid: string, base: string): Promise<void> => {
    for (const entry of parseTree(oid, await objects.readTyped(oid, 'tree'))) {
      const p = base === '' ? entry.name : `${base}/${entry.name}`;
      if (isTreeMode(entry.mode)) await walk(entry.oid, p);
      else files.set(p, entry.oid);
    }
  };
  await walk(treeOid, prefix);
  return files;
}

/** The entry at `path` in a tree, or undefined. */
export async function lookupPath(
  objects: ObjectStore,
  treeOid: string,
  filePath: string,
): Promise<TreeEntry | undefined> {
  let oid = treeOid;
  const parts = filePath.split('/');
  for (let i = 0; i < parts.length; i++) {
    const entry = parseTree(oid, await objects.readTyped(oid, 'tree')).find(
      (e) => e.name === parts[i],
    );
    if (entry === undefined) return undefined;
    if (i === parts.length - 1) return entry;
    if (!isTreeMode(entry.mode)) return undefined;
    oid = entry.oid;
  }
  return undefined;
}

/** A file that differs between two trees: its entry in each (undefined: absent there). */
export interface TreeChange {
  readonly path: string;
  readonly after: TreeEntry | undefined;
  readonly before: TreeEntry | undefined;
}

/**
 * Files that differ between two trees (added or changed in `after`, or removed), with their
 * entries on each side, descending only into subtrees whose ids differ. `filter` prunes
 * top-level names.
 */
export async function diffTreeEntries(
  objects: ObjectStore,
  after: string | undefined,
  before: string | undefined,
  filter: (topLevelName: string) => boolean = () => true,
): Promise<TreeChange[]> {
  const changed: TreeChange[] = [];
  const read = async (oid: string | undefined): Promise<Map<string, TreeEntry>> =>
    new Map(
      oid === undefined
        ? []
        : parseTree(oid, await objects.readTyped(oid, 'tree')).map((e) => [e.name, e] as const),
    );
  const walk = async (
    a: string | undefined,
    b: string | undefined,
    base: string,
  ): Promise<void> => {
    const [ea, eb] = await Promise.all([read(a), read(b)]);
    for (const name of new Set([...ea.keys(), ...eb.keys()])) {
      if (base === '' && !filter(name)) continue;
      const x = ea.get(name);
      const y = eb.get(name);
      if (x?.oid === y?.oid && x?.mode === y?.mode) continue;
      const p = base === '' ? name : `${base}/${name}`;
      const xTree = x !== undefined && isTreeMode(x.mode);
      const yTree = y !== undefined && isTreeMode(y.mode);
      if (xTree || yTree) await walk(xTree ? x.oid : undefined, yTree ? y.oid : undefined, p);
      if ((x !== undefined && !xTree) || (y !== undefined && !yTree))
        changed.push({ path: p, after: xTree ? undefined : x, before: yTree ? undefined : y });
    }
  };
  await walk(after, before, '');
  return changed;
}

/**
 * Files that differ between two trees (added or changed in `after`, or removed), descending
 * only into subtrees whose ids differ. `filter` prunes top-level names.
 */
export async function diffTrees(
  objects: ObjectStore,
  after: string | undefined,
  before: string | undefined,
  filter: (topLevelName: string) => boolean = () => true,
): Promise<string[]> {
  return (await diffTreeEntries(objects, after, before, filter)).map((c) => c.path);
}
