// Reading packs git wrote: deltas against an earlier offset (OFS_DELTA) and against an object
// named by id (REF_DELTA), chains of them, after `git gc` and `git repack`. Every object must
// read back exactly as `git cat-file` gives it.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ObjectType } from '../../src/git/hash.js';
import { ObjectStore } from '../../src/git/objects.js';
import { applyDelta } from '../../src/git/pack-reader.js';
import { git, tempDir } from '../helpers/store.js';

/** A repository whose files change a little in each of many commits: git deltifies them. */
function historyRepo(): string {
  const dir = tempDir();
  git(dir, 'init', '-q', '-b', 'main');
  fs.mkdirSync(path.join(dir, 'notes'));
  const lines = Array.from({ length: 200 }, (_, i) => `line ${i}: ${'text '.repeat(i % 7)}`);
  for (let c = 0; c < 40; c++) {
    lines[(c * 37) % lines.length] = `changed in commit ${c}`;
    for (let f = 0; f < 5; f++)
      fs.writeFileSync(path.join(dir, 'notes', `n${f}.md`), `${f}\n${lines.join('\n')}\n`);
    fs.writeFileSync(path.join(dir, `added-${c}.md`), `commit ${c}\n`);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', `commit ${c}`);
  }
  return dir;
}

/** Every object git holds, with its type and bytes (git cat-file --batch). */
function allObjects(dir: string): { oid: string; type: ObjectType; content: Buffer }[] {
  const ids = git(dir, 'cat-file', '--batch-all-objects', '--batch-check=%(objectname)')
    .split('\n')
    .filter(Boolean);
  const out = execFileSync('git', ['-C', dir, 'cat-file', '--batch'], {
    input: ids.join('\n') + '\n',
    maxBuffer: 1 << 28,
  });
  const objects: { oid: string; type: ObjectType; content: Buffer }[] = [];
  let pos = 0;
  while (pos < out.length) {
    const eol = out.indexOf(0x0a, pos);
    const [oid, type, size] = out.toString('latin1', pos, eol).split(' ');
    const start = eol + 1;
    objects.push({
      oid: oid!,
      type: type as ObjectType,
      content: out.subarray(start, start + Number(size)),
    });
    pos = start + Number(size) + 1;
  }
  return objects;
}

/** How many entries of the repository's one pack are of each type (the bits of their headers). */
function entryTypes(dir: string): Map<number, number> {
  const packDir = path.join(dir, '.git', 'objects', 'pack');
  const base = path.join(
    packDir,
    fs.readdirSync(packDir).find((f) => f.endsWith('.idx'))!,
  );
  const idx = fs.readFileSync(base);
  const pack = fs.readFileSync(`${base.slice(0, -'.idx'.length)}.pack`);
  const count = idx.readUInt32BE(8 + 255 * 4);
  const offsets = 8 + 1024 + count * 24;
  const types = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const type = (pack[idx.readUInt32BE(offsets + i * 4)]! >> 4) & 7;
    types.set(type, (types.get(type) ?? 0) + 1);
  }
  return types;
}

async function expectAllRead(dir: string): Promise<void> {
  const objects = allObjects(dir);
  expect(objects.length).toBeGreaterThan(200);
  // No loose object is left: every read below goes through the pack.
  expect(
    fs.readdirSync(path.join(dir, '.git', 'objects')).filter((d) => /^[0-9a-f]{2}$/.test(d)),
  ).toEqual([]);
  const store = new ObjectStore(path.join(dir, '.git'));
  for (const { oid, type, content } of objects) {
    const read = await store.read(oid, true);
    expect(read.type).toBe(type);
    expect(read.content.equals(content)).toBe(true);
  }
}

describe('the pack reader', () => {
  it('reads every object of a pack `git gc --aggressive` made, OFS_DELTA chains and all', async () => {
    const dir = historyRepo();
    git(dir, 'gc', '-q', '--aggressive', '--prune=now');
    const types = entryTypes(dir);
    expect(types.get(6) ?? 0).toBeGreaterThan(50); // OFS_DELTA
    expect(types.get(7) ?? 0).toBe(0);
    await expectAllRead(dir);
  });

  it('reads REF_DELTA entries (a pack written without offsets to its bases)', async () => {
    const dir = historyRepo();
    git(dir, '-c', 'repack.useDeltaBaseOffset=false', 'repack', '-q', '-a', '-d', '-f');
    git(dir, 'prune', '--expire=now');
    const types = entryTypes(dir);
    expect(types.get(7) ?? 0).toBeGreaterThan(50); // REF_DELTA
    expect(types.get(6) ?? 0).toBe(0);
    await expectAllRead(dir);
  });

  it('finds objects across many packs the same way once it has put their ids in one map', async () => {
    // A pack a commit (as recordMany leaves a store: a pack a batch), then enough reads that
    // the set builds its directory of every pack's ids (DIRECTORY_AFTER lookups).
    const dir = tempDir();
    git(dir, 'init', '-q', '-b', 'main');
    for (let c = 0; c < 8; c++) {
      for (let f = 0; f < 12; f++)
        fs.writeFileSync(path.join(dir, `c${c}-f${f}.md`), `commit ${c} file ${f}\n`);
      git(dir, 'add', '-A');
      git(dir, 'commit', '-q', '-m', `commit ${c}`);
      git(dir, 'repack', '-q', '-d');
      // The first commits' objects twice (a person's repack that kept the old packs).
      if (c === 3) git(dir, 'repack', '-q', '-a');
    }
    const packs = fs.readdirSync(path.join(dir, '.git', 'objects', 'pack'));
    expect(packs.filter((f) => f.endsWith('.idx')).length).toBeGreaterThanOrEqual(8);
    const objects = allObjects(dir);
    const store = new ObjectStore(path.join(dir, '.git'));
    for (let round = 0; round < Math.ceil(5000 / objects.length); round++)
      for (const { oid, type, content } of objects) {
        const read = await store.read(oid, true);
        expect(read.type).toBe(type);
        expect(read.content.equals(content)).toBe(true);
      }
    await expect(store.read('0'.repeat(40))).rejects.toMatchObject({ code: 'GIT_OBJECT_MISSING' });
    // A pack written after the directory was built: the miss lists the packs again.
    fs.writeFileSync(path.join(dir, 'late.md'), 'late\n');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'late');
    git(dir, 'repack', '-q', '-d');
    const late = git(dir, 'rev-parse', 'HEAD:late.md').trim();
    expect((await store.read(late, true)).content.toString()).toBe('late\n');
  });

  it('reports a missing object as missing and a damaged entry as corrupt', async () => {
    const dir = historyRepo();
    git(dir, 'gc', '-q', '--prune=now');
    const store = new ObjectStore(path.join(dir, '.git'));
    await expect(store.read('0'.repeat(40))).rejects.toMatchObject({ code: 'GIT_OBJECT_MISSING' });
    const packDir = path.join(dir, '.git', 'objects', 'pack');
    const packFile = path.join(
      packDir,
      fs.readdirSync(packDir).find((f) => f.endsWith('.pack'))!,
    );
    const bytes = fs.readFileSync(packFile);
    bytes.fill(0xaa, 12, bytes.length - 20);
    fs.chmodSync(packFile, 0o644);
    fs.writeFileSync(packFile, bytes);
    const head = git(dir, 'rev-parse', 'HEAD').trim();
    await expect(new ObjectStore(path.join(dir, '.git')).read(head)).rejects.toMatchObject({
      code: 'GIT_OBJECT_CORRUPT',
    });
  });
});

describe('applyDelta', () => {
  it('copies and inserts as git delta instructions say', () => {
    const base = Buffer.from('the quick brown fox jumps over the lazy dog');
    // source size 43, target size 25: copy "the quick " (offset 0, 10), insert "red ", copy "fox jumps" (16, 9), insert "!\n"
    const delta = Buffer.from([
      43,
      25,
      0x90,
      10,
      4,
      ...Buffer.from('red '),
      0x91,
      16,
      9,
      2,
      ...Buffer.from('!\n'),
    ]);
    expect(applyDelta(base, delta).toString()).toBe('the quick red fox jumps!\n');
    expect(() => applyDelta(base, Buffer.from([42, 1, 1, 0x41]))).toThrow(/does not fit/);
    expect(() => applyDelta(base, Buffer.from([43, 5, 0x91, 40, 5]))).toThrow(/outside its base/);
  });
});
