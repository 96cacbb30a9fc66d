// The folders of src/ are layers: each imports only from the layers below it, never from its
// own rank's neighbours or from above. A reader can then follow a record from the store facade
// down to the fsync without ever climbing back up (docs/architecture.md draws the layers).

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/store.js';

/** Lowest first. Folders on one line share a rank and must not import each other. */
export const LAYERS: readonly (readonly string[])[] = [
  ['errors'],
  ['util'],
  ['git'],
  ['record'],
  ['db'],
  ['resources'],
  ['participants'],
  ['txn'],
  ['maintenance', 'query'],
  ['sync'],
  ['store'],
  ['import', 'mcp'],
];

const SRC = path.join(ROOT, 'src');

function rankOf(folder: string): number {
  const rank = LAYERS.findIndex((layer) => layer.includes(folder));
  if (rank < 0) throw new Error(`src/${folder}/ is not in LAYERS: place it in a layer`);
  return rank;
}

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every relative module a file imports (static, type-only and dynamic). */
export function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.\.?\/[^'"]+)['"]/g)];
  return specs.map((m) => path.resolve(path.dirname(file), m[1]!));
}

/** `folder -> folder` for every import that crosses a folder of src/. */
export function folderArrows(): { from: string; to: string; file: string }[] {
  const arrows: { from: string; to: string; file: string }[] = [];
  for (const file of sources(SRC)) {
    const from = path.relative(SRC, file).split(path.sep);
    if (from.length < 2) continue; // src/index.ts re-exports everything
    for (const target of importsOf(file)) {
      const to = path.relative(SRC, target).split(path.sep);
      if (to.length < 2 || to[0] === '..') continue;
      if (to[0] !== from[0])
        arrows.push({ from: from[0]!, to: to[0]!, file: path.relative(ROOT, file) });
    }
  }
  return arrows;
}

describe('the layers of src/', () => {
  it('places every folder of src/ in a layer', () => {
    for (const entry of fs.readdirSync(SRC, { withFileTypes: true }))
      if (entry.isDirectory()) expect(() => rankOf(entry.name)).not.toThrow();
  });

  it('imports only downward: no folder imports its own rank or one above it', () => {
    const upward = folderArrows()
      .filter((a) => rankOf(a.to) >= rankOf(a.from))
      .map((a) => `${a.file}: ${a.from} -> ${a.to}`);
    expect(upward).toEqual([]);
  });

  it('finds an upward import when there is one (the check itself works)', () => {
    expect(rankOf('store')).toBeGreaterThan(rankOf('txn'));
    expect(
      importsOf(path.join(SRC, 'store', 'store.ts')).some((f) =>
        f.includes(`${path.sep}txn${path.sep}`),
      ),
    ).toBe(true);
  });
});
