// Tree objects as git writes them: lessons serialises trees itself (a commit rewrites the
// trees on its paths), and the ids must be git's, whatever the names.

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashObject } from '../../src/git/hash.js';
import { ObjectStore } from '../../src/git/objects.js';
import {
  MODE_FILE,
  MODE_TREE,
  parseTree,
  serializeTree,
  TreeEditor,
  type TreeEntry,
} from '../../src/git/tree.js';
import { tempDir } from '../helpers/store.js';

// Names as they come: ASCII, accents, characters beyond U+FFFF (surrogate pairs in
// JavaScript) and from U+E000 to U+FFFF, where UTF-16 order and git's byte order part.
const NAME_CHARS = [
  'a',
  'b',
  'Z',
  '-',
  '.',
  '_',
  '0',
  'é',
  'ß',
  '\uE000',
  '\uFFFD',
  '😀',
  '𝄞',
  ' ',
];
const name = fc
  .array(fc.constantFrom(...NAME_CHARS), { minLength: 1, maxLength: 6 })
  .map((chars) => chars.join(''))
  .filter((n) => n !== '.' && n !== '..');
const oid = fc
  .uint8Array({ minLength: 20, maxLength: 20 })
  .map((b) => Buffer.from(b).toString('hex'));
const entries = fc.uniqueArray(
  fc
    .record({ name, oid, tree: fc.boolean() })
    .map(({ name, oid, tree }): TreeEntry => ({ mode: tree ? MODE_TREE : MODE_FILE, name, oid })),
  { selector: (e) => e.name, minLength: 1, maxLength: 12 },
);

describe('serializeTree', () => {
  it("gives git's tree id for any names and modes (git mktree)", () => {
    const dir = tempDir();
    execFileSync('git', ['init', '-q', dir]);
    const trees = fc.sample(entries, { numRuns: 300, seed: 20261202 });
    // One mktree for every tree: -z records, each tree ended by an empty one.
    const input = trees
      .map(
        (tree) =>
          tree
            .map(
              (e) =>
                `${e.mode === MODE_TREE ? '040000 tree' : '100644 blob'} ${e.oid}\t${e.name}\0`,
            )
            .join('') + '\0',
      )
      .join('');
    const ids = execFileSync('git', ['-C', dir, 'mktree', '-z', '--missing', '--batch'], {
      input,
      encoding: 'utf8',
    })
      .split('\n')
      .filter(Boolean);
    expect(ids).toHaveLength(trees.length);
    trees.forEach((tree, i) => {
      const content = serializeTree(tree);
      expect(hashObject('tree', content)).toBe(ids[i]);
      // And it reads back as the same entries.
      const back = parseTree(ids[i]!, content);
      expect(new Set(back.map((e) => `${e.mode} ${e.name} ${e.oid}`))).toEqual(
        new Set(tree.map((e) => `${e.mode} ${e.name} ${e.oid}`)),
      );
    });
  });

  it('refuses an id that is not 40 hex digits instead of writing a short entry', () => {
    expect(() => serializeTree([{ mode: MODE_FILE, name: 'a.md', oid: 'zz'.repeat(20) }])).toThrow(
      /did not encode/,
    );
  });
});

describe('TreeEditor', () => {
  it('gives the tree git lists for any run of additions, replacements and removals, commit after commit', async () => {
    // Names that sort after everything in their folder take the append path (a month's new
    // records); the others, and removals, take the parsed one. Each commit's editor starts
    // from the tree before, as the commits of a group and a writer's records do; some read it
    // from memory (the same ObjectStore), some from disk (a fresh one), some in a batch.
    const dir = tempDir();
    execFileSync('git', ['init', '-q', dir]);
    const gitdir = path.join(dir, '.git');
    let objects = new ObjectStore(gitdir);
    const blobs = Array.from({ length: 5 }, (_, i) => objects.write('blob', Buffer.from(`${i}\n`)));
    const op = fc.oneof(
      fc.record({ kind: fc.constant('append' as const), folder: fc.constantFrom('m', 'n/m') }),
      fc.record({
        kind: fc.constant('set' as const),
        path: fc.tuple(fc.constantFrom('m', 'n/m', 'o', ''), name),
      }),
      fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('replace' as const), pick: fc.nat() }),
    );
    const commits = fc.sample(
      fc.record({
        ops: fc.array(op, { minLength: 1, maxLength: 5 }),
        blob: fc.nat({ max: 4 }),
        batch: fc.boolean(),
        fresh: fc.boolean(),
      }),
      { numRuns: 80, seed: 7 },
    );
    const model = new Map<string, string>();
    const written: { tree: string; files: Map<string, string> }[] = [];
    let base: string | undefined;
    let counter = 0;
    for (const commit of commits) {
      if (commit.fresh) objects = new ObjectStore(gitdir);
      if (commit.batch) objects.beginBatch();
      const editor = new TreeEditor(objects, base);
      for (const o of commit.ops) {
        if (o.kind === 'append') {
          const file = `${o.folder}/${String(++counter).padStart(6, '0')}-${counter % 3 === 0 ? 'é😀' : 'rec'}.md`;
          await editor.set(file, blobs[commit.blob]!);
          model.set(file, blobs[commit.blob]!);
        } else if (o.kind === 'set') {
          const [folder, file] = o.path;
          const full = folder === '' ? file : `${folder}/${file}`;
          // A name that is a folder in the model (or lies under a file) is not a file path.
          const clash = [...model.keys()].some(
            (p) => p.startsWith(`${full}/`) || full.startsWith(`${p}/`),
          );
          if (clash || ['m', 'n', 'o'].includes(full)) continue;
          await editor.set(full, blobs[commit.blob]!);
          model.set(full, blobs[commit.blob]!);
        } else if (o.kind === 'replace' && model.size > 0) {
          // A file that exists gets another blob: its entry changes in place.
          const file = [...model.keys()][o.pick % model.size]!;
          const blob = blobs[(blobs.indexOf(model.get(file)!) + 1) % blobs.length]!;
          await editor.set(file, blob);
          model.set(file, blob);
        } else if (model.size > 0) {
          const victim = [...model.keys()][o.pick % model.size]!;
          expect(await editor.remove(victim)).toBe(true);
          model.delete(victim);
        }
      }
      base = await editor.write();
      if (commit.batch) await objects.flushBatch();
      written.push({ tree: base, files: new Map(model) });
    }
    for (const { tree, files } of written) {
      const listed = new Map(
        execFileSync('git', ['-C', dir, 'ls-tree', '-r', '-z', '--full-tree', tree], {
          encoding: 'utf8',
        })
          .split('\0')
          .filter(Boolean)
          .map((line) => {
            const [meta, file] = line.split('\t') as [string, string];
            return [file, meta.split(' ')[2]!] as const;
          }),
      );
      expect(listed).toEqual(files);
    }
    // Every tree as git would write it: fsck checks each one's order and names.
    execFileSync('git', [
      '-C',
      dir,
      'fsck',
      '--strict',
      '--full',
      '--no-dangling',
      '--unreachable',
    ]);
  });
});

describe('TreeEditor, a file where a folder of that name is', () => {
  it('is refused, as git allows no file beside a folder of the same name', async () => {
    const dir = tempDir();
    execFileSync('git', ['init', '-q', dir]);
    const objects = new ObjectStore(path.join(dir, '.git'));
    const blob = objects.write('blob', Buffer.from('x\n'));
    const first = new TreeEditor(objects, undefined);
    for (const file of ['m/a/inner.md', 'm/a-b.md', 'm/b.md']) await first.set(file, blob);
    const tree = await first.write();
    // "a" sorts as "a/", after "a-b.md": not beside where the file "a" would go.
    for (const fresh of [objects, new ObjectStore(path.join(dir, '.git'))]) {
      const editor = new TreeEditor(fresh, tree);
      await expect(editor.set('m/a', blob)).rejects.toThrow(/is a folder where a file is expected/);
    }
  });
});
