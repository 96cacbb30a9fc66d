// Packs written by lessons for large transactions: native git reads and verifies them, and so
// does lessons itself (verify --deep, reindex).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ObjectStore } from '../../src/git/objects.js';
import { hashObject } from '../../src/git/hash.js';
import { encodeDelta, rawEntries, writePack, zlibStored } from '../../src/git/pack.js';
import { applyDelta } from '../../src/git/pack-reader.js';
import { openStore } from '../../src/index.js';
import {
  consistencyProblems,
  git,
  lessons,
  readRows,
  tempDir,
  tempStore,
} from '../helpers/store.js';

describe('writePack', () => {
  it('writes a pack and index that git verify-pack accepts and cat-file reads', () => {
    const dir = tempDir();
    execFileSync('git', ['init', '-q', dir]);
    const objectsDir = path.join(dir, '.git', 'objects');
    const contents = [
      Buffer.from(''),
      Buffer.from('hello\n'),
      Buffer.alloc(70_000, 'x'),
      Buffer.from('hello\n'),
      Buffer.from('naïve — 🚀\n'),
    ];
    const ids = writePack(
      objectsDir,
      contents.map((content) => ({ type: 'blob' as const, content })),
    );
    expect(ids[1]).toBe(ids[3]);
    const packs = fs.readdirSync(path.join(objectsDir, 'pack'));
    expect(packs.filter((f) => f.endsWith('.pack'))).toHaveLength(1);
    const idx = packs.find((f) => f.endsWith('.idx'))!;
    const verified = git(dir, 'verify-pack', '-v', path.join(objectsDir, 'pack', idx));
    expect(verified).toContain(ids[2]);
    contents.forEach((content, i) => {
      expect(execFileSync('git', ['-C', dir, 'cat-file', 'blob', ids[i]!])).toEqual(content);
    });
  });
});

describe('reading objects, packed and loose', () => {
  it('finds a loose object after a long run of packed ones, and packed ones after it', async () => {
    // After a run of reads that found nothing loose, the packs are looked in first; a loose
    // object (a record written since) must still be found, and so must the packed ones.
    const dir = tempDir();
    execFileSync('git', ['init', '-q', dir]);
    const objectsDir = path.join(dir, '.git', 'objects');
    const packed = writePack(
      objectsDir,
      Array.from({ length: 40 }, (_, i) => ({
        type: 'blob' as const,
        content: Buffer.from(`packed ${i}\n`),
      })),
    );
    const objects = new ObjectStore(path.join(dir, '.git'));
    for (const oid of packed) expect((await objects.read(oid, true)).type).toBe('blob');
    const loose = objects.write('blob', Buffer.from('loose, written after\n'));
    expect(fs.existsSync(path.join(objectsDir, loose.slice(0, 2), loose.slice(2)))).toBe(true);
    expect((await objects.read(loose, true)).content.toString()).toBe('loose, written after\n');
    // A pack written meanwhile (by git, say) is found too, though the list of packs is old.
    const later = writePack(objectsDir, [{ type: 'blob', content: Buffer.from('later\n') }]);
    for (const oid of [...packed, ...later])
      expect((await objects.read(oid, true)).type).toBe('blob');
    expect((await objects.read(later[0]!, true)).content.toString()).toBe('later\n');
  });
});

describe('a large transaction', () => {
  it('stores its blobs in one pack that git, verify --deep and reindex all read', async () => {
    const dir = tempStore();
    const store = await openStore({ dir });
    const results = await store.recordMany(
      Array.from({ length: 120 }, (_, i) => ({
        kind: 'failure' as const,
        title: `Packed failure ${i}`,
        domain: 'packs',
        summary: `body ${i}`,
      })),
    );
    const packDir = path.join(dir, '.git', 'objects', 'pack');
    expect(fs.readdirSync(packDir).filter((f) => f.endsWith('.pack'))).toHaveLength(1);
    expect(consistencyProblems(dir)).toEqual([]);
    const blob = git(dir, 'rev-parse', `HEAD:${results[7]!.path}`).trim();
    expect(git(dir, 'cat-file', '-t', blob).trim()).toBe('blob');

    expect((await store.verify({ deep: true })).findings).toEqual([]);
    // And so does the bundled CLI.
    const cli = await lessons(['--dir', dir, '--json', 'verify', '--deep']);
    expect(cli.json).toMatchObject({ ok: true, findings: [] });
    const reindexed = await store.reindex();
    expect(reindexed.rows).toBe(120);
    expect(readRows(dir)).toHaveLength(120);
    await store.recordFailure({ title: 'after the pack', domain: 'packs' });
    await store.close();
    expect(consistencyProblems(dir)).toEqual([]);
  });
});

/** A tree of `count` files named by number, as one month's folder of records is. */
function folderTree(count: number, from = 0): Buffer {
  return Buffer.concat(
    Array.from({ length: count }, (_, i) => {
      const name = `${String(from + i).padStart(8, '0')}-a-record-of-the-month.md`;
      return Buffer.concat([Buffer.from(`100644 ${name}\0`), Buffer.from(hashOf(name), 'hex')]);
    }),
  );
}

/** The depth column of `git verify-pack -v` for each object: 0 for a whole object. */
function deltaDepths(dir: string, idx: string): Map<string, number> {
  const depths = new Map<string, number>();
  for (const line of git(dir, 'verify-pack', '-v', idx).split('\n')) {
    const f = line.split(/\s+/);
    if (/^[0-9a-f]{40}$/.test(f[0] ?? '') && ['blob', 'tree', 'commit'].includes(f[1]!))
      depths.set(f[0]!, f.length > 6 ? Number(f[5]) : 0);
  }
  return depths;
}

describe('deltas', () => {
  it('encodeDelta makes the target from the base, for any two byte strings', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.uint8Array({ maxLength: 3000 }),
        fc.nat({ max: 3000 }),
        fc.uint8Array({ maxLength: 300 }),
        (base, other, cut, inserted) => {
          // Unrelated strings, and the base with a run inserted or cut (what a tree edit is).
          const at = Math.min(cut, base.length);
          const edited = Buffer.concat([base.subarray(0, at), inserted, base.subarray(at)]);
          const shorter = Buffer.concat([
            base.subarray(0, at),
            base.subarray(at + inserted.length),
          ]);
          for (const target of [other, edited, shorter, base]) {
            const delta = encodeDelta(base, target);
            expect(applyDelta(Buffer.from(base), delta).equals(Buffer.from(target))).toBe(true);
          }
        },
      ),
      { numRuns: 200 },
    );
    // Copies longer than one instruction holds (16 MiB), and of 64 KiB exactly.
    for (const size of [0x10000, 0x1000000 + 5]) {
      const base = Buffer.alloc(size, 7);
      const target = Buffer.concat([base, Buffer.from('tail')]);
      expect(applyDelta(base, encodeDelta(base, target)).equals(target)).toBe(true);
    }
  });

  it("stores each version of a folder's tree as a delta on the one before, which git reads and verifies", async () => {
    const dir = tempDir();
    execFileSync('git', ['init', '-q', dir]);
    const objectsDir = path.join(dir, '.git', 'objects');
    // Sixteen versions of a folder of 2,000 files, each with one more file: a group commit.
    const versions = Array.from({ length: 16 }, (_, k) => folderTree(2000 + k));
    const small = Buffer.from(`100644 one\0${hashOf('one')}`.slice(0, 11), 'latin1');
    const ids = writePack(objectsDir, [
      ...versions.map((content) => ({ type: 'tree' as const, content })),
      { type: 'blob' as const, content: small },
    ]);
    const idx = path.join(
      objectsDir,
      'pack',
      fs.readdirSync(path.join(objectsDir, 'pack')).find((f) => f.endsWith('.idx'))!,
    );
    const packSize = fs.statSync(idx.replace(/\.idx$/, '.pack')).size;
    // The first version whole (about 110 kB), the fifteen others a few dozen bytes each.
    expect(packSize).toBeLessThan(versions[0]!.length + 15 * 200);
    const depths = deltaDepths(dir, idx);
    expect(depths.get(ids[0]!)).toBe(0);
    for (let k = 1; k < 16; k++) expect(depths.get(ids[k]!)).toBeGreaterThan(0);
    git(dir, 'fsck', '--strict', '--full', '--no-dangling', '--unreachable');
    for (const [k, content] of versions.entries())
      expect(execFileSync('git', ['-C', dir, 'cat-file', 'tree', ids[k]!]).equals(content)).toBe(
        true,
      );
    const objects = new ObjectStore(path.join(dir, '.git'));
    for (const [k, content] of versions.entries())
      expect((await objects.read(ids[k]!, true)).content.equals(content)).toBe(true);
  });

  it("joins packs holding deltas, ours and git's, and every object reads the same after", async () => {
    const dir = tempDir();
    git(dir, 'init', '-q', '-b', 'main');
    // Git's own small packs, with OFS_DELTAs between similar notes.
    const text = Array.from({ length: 80 }, (_, i) => `line ${i} of a long note`).join('\n');
    for (let c = 0; c < 6; c++) {
      for (let f = 0; f < 3; f++)
        fs.writeFileSync(path.join(dir, `note-${c}-${f}.md`), `${c} ${f}\n${text}\n`);
      git(dir, 'add', '-A');
      git(dir, 'commit', '-q', '-m', `commit ${c}`);
      git(dir, 'repack', '-q', '-d');
    }
    const objects = new ObjectStore(path.join(dir, '.git'));
    const packDir = path.join(dir, '.git', 'objects', 'pack');
    const trees: { oid: string; content: Buffer }[] = [];
    let files = 1500;
    for (let batch = 0; batch < 30; batch++) {
      objects.beginBatch();
      for (let k = 0; k < 4; k++) {
        const content = folderTree(++files);
        trees.push({ oid: objects.write('tree', content), content });
      }
      await objects.flushBatch();
    }
    const packs = fs.readdirSync(packDir).filter((f) => f.endsWith('.pack'));
    expect(packs.length).toBeLessThanOrEqual(25);
    // Joined as stored: deltas stay deltas (each batch's first tree whole, about 70 kB).
    const bytes = packs.reduce((n, f) => n + fs.statSync(path.join(packDir, f)).size, 0);
    expect(bytes).toBeLessThan(31 * folderTree(1620).length);
    git(dir, 'fsck', '--strict', '--full', '--no-dangling', '--unreachable');
    for (const { oid, content } of trees)
      expect(execFileSync('git', ['-C', dir, 'cat-file', 'tree', oid]).equals(content)).toBe(true);
    const fresh = new ObjectStore(path.join(dir, '.git'));
    for (const { oid, content } of trees)
      expect((await fresh.read(oid, true)).content.equals(content)).toBe(true);
    expect(git(dir, 'log', '--format=%s', 'main').split('\n').filter(Boolean)).toHaveLength(6);
    git(dir, 'show', 'main:note-5-2.md');
  });
});

describe('zlibStored', () => {
  it('is a zlib stream that inflates back to its input, for any bytes and sizes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 2000 }),
          fc.integer({ min: 65_530, max: 140_000 }).map((n) => new Uint8Array(n).fill(n & 0xff)),
        ),
        (data) => {
          expect(inflateSync(zlibStored(data)).equals(data)).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });
});

const hashOf = (text: string): string => hashObject('blob', Buffer.from(text));

describe("a group commit's objects", () => {
  it('go into one pack per batch, and the small packs are joined: few packs, every object read by git and lessons', async () => {
    const dir = tempDir();
    execFileSync('git', ['init', '-q', dir]);
    const objects = new ObjectStore(path.join(dir, '.git'));
    const packDir = path.join(dir, '.git', 'objects', 'pack');
    const written: string[] = [];
    let mostPacks = 0;
    for (let batch = 0; batch < 60; batch++) {
      objects.beginBatch();
      for (let i = 0; i < 5; i++)
        written.push(objects.write('blob', Buffer.from(`batch ${batch} object ${i}\n`)));
      // Read from memory before the flush, as the next commit of a group reads its parent.
      expect((await objects.read(written.at(-1)!)).content.toString()).toBe(
        `batch ${batch} object 4\n`,
      );
      await objects.flushBatch();
      const packs = fs.readdirSync(packDir).filter((f) => f.endsWith('.pack')).length;
      mostPacks = Math.max(mostPacks, packs);
    }
    // No loose object, and never more than the bound (plus the one just written) of packs.
    expect(fs.readdirSync(path.join(dir, '.git', 'objects')).sort()).toEqual(['info', 'pack']);
    expect(mostPacks).toBeLessThanOrEqual(25);
    expect(fs.readdirSync(packDir).filter((f) => f.endsWith('.pack')).length).toBeLessThan(25);
    expect(fs.readdirSync(packDir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    git(dir, 'fsck', '--strict', '--full', '--no-dangling');
    const listed = git(dir, 'cat-file', '--batch-all-objects', '--batch-check=%(objectname)')
      .split('\n')
      .filter(Boolean);
    expect(new Set(listed)).toEqual(new Set(written));
    const fresh = new ObjectStore(path.join(dir, '.git'));
    for (const oid of [written[0]!, written[150]!, written.at(-1)!])
      expect((await fresh.read(oid, true)).type).toBe('blob');
  });

  it('a small pack that cannot be read is left as it is, the others are joined, and the batch is still stored', async () => {
    const dir = tempDir();
    execFileSync('git', ['init', '-q', dir]);
    const objects = new ObjectStore(path.join(dir, '.git'));
    const packDir = path.join(dir, '.git', 'objects', 'pack');
    for (let batch = 0; batch < 24; batch++) {
      objects.beginBatch();
      objects.write('blob', Buffer.from(`batch ${batch}\n`));
      await objects.flushBatch();
    }
    // Damage one pack's object data (after its 12-byte header), keeping its size.
    const damaged = fs.readdirSync(packDir).find((f) => f.endsWith('.pack'))!;
    const bytes = fs.readFileSync(path.join(packDir, damaged));
    bytes.fill(0x55, 14, bytes.length - 20);
    fs.writeFileSync(path.join(packDir, damaged), bytes);
    objects.beginBatch();
    const oid = objects.write('blob', Buffer.from('the 25th batch\n'));
    await objects.flushBatch();
    // The damaged pack fails its CRC and stays; the 24 sound ones became one.
    expect(fs.readdirSync(packDir).filter((f) => f.endsWith('.pack'))).toHaveLength(2);
    expect(fs.existsSync(path.join(packDir, damaged))).toBe(true);
    expect(git(dir, 'cat-file', '-p', oid)).toBe('the 25th batch\n');
    expect(git(dir, 'cat-file', '-p', hashOf('batch 23\n'))).toBe('batch 23\n');
  });

  it('joins at most a bounded amount, smallest first, even when the small packs hold 200,000 objects', async () => {
    // As a store built by imports holds them: each recordMany leaves a pack of its blobs.
    // Joining them all at once overflowed the stack (a spread of every entry into one call),
    // and every later group commit then paid for reading them all again.
    const dir = tempDir();
    execFileSync('git', ['init', '-q', dir]);
    const objectsDir = path.join(dir, '.git', 'objects');
    const packDir = path.join(objectsDir, 'pack');
    const written: string[] = [];
    for (let pack = 0; pack < 25; pack++)
      written.push(
        ...writePack(
          objectsDir,
          Array.from({ length: 8000 }, (_, i) => ({
            type: 'blob' as const,
            content: Buffer.from(`pack ${pack} blob ${i} ${'x'.repeat(pack === 0 ? 0 : 200)}\n`),
          })),
        ),
      );
    const before = new Map(
      fs
        .readdirSync(packDir)
        .filter((f) => f.endsWith('.pack'))
        .map((f) => [f, fs.statSync(path.join(packDir, f)).size]),
    );
    const objects = new ObjectStore(path.join(dir, '.git'));
    objects.beginBatch();
    const oid = objects.write('blob', Buffer.from('one more\n'));
    await objects.flushBatch();
    const after = fs.readdirSync(packDir).filter((f) => f.endsWith('.pack'));
    // 26 small packs: the smallest ones (the batch's, pack 0's, ...) up to 8 MiB became one.
    expect(after.length).toBeLessThan(26);
    expect(after.length).toBeGreaterThan(2);
    const sizes = [...before.values()].sort((a, b) => a - b);
    const removed = [...before.keys()].filter((f) => !after.includes(f));
    expect(removed.length).toBeGreaterThanOrEqual(2);
    for (const f of removed) expect(before.get(f)!).toBeLessThanOrEqual(sizes[removed.length]!);
    git(dir, 'fsck', '--strict', '--full', '--no-dangling');
    const listed = git(dir, 'cat-file', '--batch-all-objects', '--batch-check=%(objectname)')
      .split('\n')
      .filter(Boolean);
    expect(new Set(listed)).toEqual(new Set([...written, oid]));
  });

  it("leaves packs it cannot join (git's, with REF_DELTAs) alone, and does not rewrite a join at every flush because of them", async () => {
    const dir = tempDir();
    git(dir, 'init', '-q', '-b', 'main');
    // A delta that names its base by id, not by place (as older gits and thin packs do).
    git(dir, 'config', 'repack.useDeltaBaseOffset', 'false');
    const text = Array.from({ length: 80 }, (_, i) => `line ${i} of a long note`).join('\n');
    for (let c = 0; c < 25; c++) {
      for (let f = 0; f < 3; f++)
        fs.writeFileSync(path.join(dir, `note-${c}-${f}.md`), `${c} ${f}\n${text}\n`);
      git(dir, 'add', '-A');
      git(dir, 'commit', '-q', '-m', `commit ${c}`);
      git(dir, 'repack', '-q', '-d'); // one more small pack, its similar files as REF_DELTAs
    }
    const packDir = path.join(dir, '.git', 'objects', 'pack');
    const packs = (): string[] => fs.readdirSync(packDir).filter((f) => f.endsWith('.pack'));
    const gitPacks = packs();
    expect(gitPacks).toHaveLength(25);
    for (const name of gitPacks) {
      const base = path.join(packDir, name.slice(0, -'.pack'.length));
      expect(rawEntries(fs.readFileSync(`${base}.pack`), fs.readFileSync(`${base}.idx`))).toBe(
        undefined,
      );
    }
    const objects = new ObjectStore(path.join(dir, '.git'));
    const ours: string[] = [];
    for (let batch = 0; batch < 3; batch++) {
      objects.beginBatch();
      ours.push(objects.write('blob', Buffer.from(`batch ${batch}\n`)));
      await objects.flushBatch();
      // Fewer than four packs can be joined: nothing is rewritten.
      expect(packs()).toHaveLength(26 + batch);
    }
    objects.beginBatch();
    ours.push(objects.write('blob', Buffer.from('batch 3\n')));
    await objects.flushBatch();
    // Four of ours: joined into one; git's packs are all still there.
    expect(packs()).toHaveLength(26);
    for (const name of gitPacks) expect(packs()).toContain(name);
    git(dir, 'fsck', '--strict', '--full', '--no-dangling');
    for (const oid of ours) expect(git(dir, 'cat-file', '-t', oid).trim()).toBe('blob');
  });
});
