import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { entryCount, entryFromStat, sharedIndexId } from '../../src/git/index-file.js';
import { GitRepository, type SplitOptions } from '../../src/git/repository.js';
import { git, tempDir } from '../helpers/store.js';

const SMALL: SplitOptions = { splitFrom: 10, splitMax: 3 };
const author = { name: 'Test', email: 'test@example.invalid' };

/** A repository made by native git holding `n` committed files under `seed/`. */
function nativeRepo(n: number): string {
  const dir = tempDir();
  git(dir, 'init', '-q', '-b', 'main');
  fs.mkdirSync(path.join(dir, 'seed'));
  for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, 'seed', `f${i}.md`), `seed ${i}\n`);
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'seed');
  return dir;
}

/** Commit new files (and removals) in one commit the way the git participant does, index spliced with `options`. */
async function addFiles(
  repo: GitRepository,
  files: readonly string[],
  options: SplitOptions,
  remove: readonly string[] = [],
): Promise<void> {
  const blobs = files.map((file) => {
    const full = path.join(repo.workdir, file);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, `content of ${file}\n`);
    return repo.objects.write('blob', fs.readFileSync(full));
  });
  for (const gone of remove) fs.rmSync(path.join(repo.workdir, gone));
  const parent = repo.head();
  const { commit, tree } = await repo.writeCommit({
    parent,
    changes: [
      ...files.map((file, i) => ({ path: file, blobOid: blobs[i] })),
      ...remove.map((p) => ({ path: p, blobOid: undefined })),
    ],
    message: `add ${files.length} files\n`,
    author,
    time: 1_700_000_000,
  });
  const lock = repo.lockIndex();
  try {
    const current = repo.readIndex();
    repo.moveMain(parent, commit);
    const entries = files.map((file, i) =>
      entryFromStat(file, blobs[i]!, fs.lstatSync(path.join(repo.workdir, file), { bigint: true })),
    );
    lock.write(await repo.nextIndex(current, entries, remove, tree, options), true);
    lock.commit(false);
  } finally {
    lock.release();
  }
}

function addFile(
  repo: GitRepository,
  file: string,
  options: SplitOptions,
  remove: readonly string[] = [],
): Promise<void> {
  return addFiles(repo, [file], options, remove);
}

function trackedFiles(dir: string): string[] {
  return git(dir, 'ls-files').trim().split('\n').filter(Boolean).sort();
}

describe('split git index', () => {
  it('keeps a large index split, so a record rewrites only the entries added since the split', async () => {
    const dir = nativeRepo(20);
    const repo = new GitRepository(dir);
    const added: string[] = [];
    for (let i = 0; i < 8; i++) {
      const file = `records/2026/r${i}.md`;
      await addFile(repo, file, SMALL);
      added.push(file);
      const index = fs.readFileSync(repo.indexPath);
      // Split from the first record on; the own part never holds more than splitMax entries.
      expect(sharedIndexId(index)).toMatch(/^[0-9a-f]{40}$/);
      expect(entryCount(index)).toBeLessThanOrEqual(3);
      expect(fs.existsSync(path.join(dir, '.git', `sharedindex.${sharedIndexId(index)}`))).toBe(
        true,
      );
      expect(git(dir, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    }
    const expected = [...added, ...Array.from({ length: 20 }, (_, i) => `seed/f${i}.md`)].sort();
    expect(trackedFiles(dir)).toEqual(expected);
    expect([...repo.indexEntries()!.keys()].sort()).toEqual(expected);
    git(dir, 'fsck', '--strict', '--full', '--no-dangling');
  });

  it('goes on working after native git rewrites the index, and removes entries', async () => {
    const dir = nativeRepo(12);
    const repo = new GitRepository(dir);
    await addFile(repo, 'records/a.md', SMALL);
    // Native git adds and commits a file of its own on top of our split index.
    fs.writeFileSync(path.join(dir, 'native.md'), 'native\n');
    git(dir, 'add', 'native.md');
    git(dir, 'commit', '-q', '-m', 'native');
    expect(git(dir, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    // And git's own split index, with its bitmaps, is read and spliced too.
    git(dir, 'update-index', '--split-index');
    await addFile(repo, 'records/b.md', SMALL);
    await addFile(repo, 'records/c.md', SMALL, ['seed/f0.md', 'records/a.md']);
    expect(git(dir, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    const files = trackedFiles(dir);
    expect(files).toContain('native.md');
    expect(files).toContain('records/c.md');
    expect(files).not.toContain('seed/f0.md');
    expect(files).not.toContain('records/a.md');
    expect(files).toHaveLength(12 + 4 - 2);
    git(dir, 'fsck', '--strict', '--full', '--no-dangling');
  });

  it('leaves a small index plain', async () => {
    const dir = nativeRepo(3);
    const repo = new GitRepository(dir);
    await addFile(repo, 'records/a.md', {});
    const index = fs.readFileSync(repo.indexPath);
    expect(sharedIndexId(index)).toBeUndefined();
    expect(entryCount(index)).toBe(4);
    expect(git(dir, 'status', '--porcelain', '--untracked-files=all')).toBe('');
  });

  it("lets a bulk change leave the split part up to a fifth of the shared index (git's bound), and the next small change fold it back", async () => {
    const dir = nativeRepo(100);
    const repo = new GitRepository(dir);
    await addFile(repo, 'records/first.md', SMALL);
    const shared = sharedIndexId(fs.readFileSync(repo.indexPath));
    expect(shared).toMatch(/^[0-9a-f]{40}$/);
    const sharedFiles = (): string[] =>
      fs.readdirSync(path.join(dir, '.git')).filter((f) => f.startsWith('sharedindex.'));
    const names = (from: number, n: number): string[] =>
      Array.from({ length: n }, (_, i) => `records/bulk/b${from + i}.md`);
    // Two batches of 8 (more than splitMax 3): the own part holds 8 + 8 = 16 <= 101 / 5 (the
    // shared index holds the seed and first.md), and the shared index is not written again.
    await addFiles(repo, names(0, 8), SMALL);
    await addFiles(repo, names(8, 8), SMALL);
    let index = fs.readFileSync(repo.indexPath);
    expect(sharedIndexId(index)).toBe(shared);
    expect(entryCount(index)).toBe(16);
    expect(sharedFiles()).toEqual([`sharedindex.${shared}`]);
    expect(git(dir, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    // A third would pass the bound (24 > 20): a new shared index holds everything.
    await addFiles(repo, names(16, 8), SMALL);
    index = fs.readFileSync(repo.indexPath);
    expect(sharedIndexId(index)).not.toBe(shared);
    expect(entryCount(index)).toBe(0);
    // After a bulk change, one small change folds a large own part back under splitMax.
    await addFiles(repo, names(24, 8), SMALL);
    expect(entryCount(fs.readFileSync(repo.indexPath))).toBe(8);
    await addFile(repo, 'records/last.md', SMALL);
    index = fs.readFileSync(repo.indexPath);
    expect(entryCount(index)).toBeLessThanOrEqual(3);
    const expected = [
      'records/first.md',
      'records/last.md',
      ...names(0, 32),
      ...Array.from({ length: 100 }, (_, i) => `seed/f${i}.md`),
    ].sort();
    expect(trackedFiles(dir)).toEqual(expected);
    expect([...repo.indexEntries()!.keys()].sort()).toEqual(expected);
    expect(git(dir, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    git(dir, 'fsck', '--strict', '--full', '--no-dangling');
  });
});
