// Tree objects as git writes them: lessons serialises trees itself (a commit rewrites the
// trees on its paths), and the ids must be git's, whatever the names.

import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashObject } from '../../src/git/hash.js';
import {
  MODE_FILE,
  MODE_TREE,
  parseTree,
  serializeTree,
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
