import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { entryCount, entryFromStat, indexStats, sharedIndexId } from '../../src/git/index-file.js';
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

/** Commit one new file the way the git participant does, index spliced with `options`. */
async function addFile(
  repo: GitRepository,
  file: string,
  options: SplitOptions,
  remove: readonly string[] = [],
): Promise<void> {
  const full = path.join(repo.workdir, file);
  fs.mkdirSync(path.dirname(full), { recursive: true });
  fs.writeFileSync(full, `content of ${file}\n`);
  for (const gone of remove) fs.rmSync(path.join(repo.workdir, gone));
  const blobOid = repo.objects.write('blob', fs.readFileSync(full));
  const parent = repo.head();
  const { commit, tree } = await repo.writeCommit({
    parent,
    changes: [{ path: file, blobOid }, ...remove.map((p) => ({ path: p, blobOid: undefined }))],
    message: `add ${file}\n`,
    author,
    time: 1_700_000_000,
  });
  const lock = repo.lockIndex();
  try {
    const current = repo.readIndex();
    repo.moveMain(parent, commit);
    const entry = entryFromStat(file, blobOid, fs.lstatSync(full, { bigint: true }));
    lock.write(await repo.nextIndex(current, [entry], remove, tree, options), true);
    lock.commit(false);
  } finally {
    lock.release();
  }
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
});

describe("verify's reading of the index (indexStats)", () => {
  /** What indexStats must equal: the general reader's stage-0 entries, as verify compares them. */
  function general(repo: GitRepository): Map<string, { oid: string; stat: string }> | undefined {
    const entries = repo.indexEntries();
    if (entries === undefined) return undefined;
    return new Map(
      [...entries].map(([p, e]) => [p, { oid: e.oid, stat: e.stat.toString('latin1') }]),
    );
  }

  it('reads plain, split and conflicted indexes as the general reader does', async () => {
    // Plain, by native git.
    const dir = nativeRepo(12);
    const repo = new GitRepository(dir);
    expect(indexStats(repo.readIndex()!, () => Buffer.alloc(0))).toEqual(general(repo));
    expect(repo.indexStats()!.size).toBe(12);
    // Split by lessons, entries added and replaced since the split.
    const ours = new GitRepository(nativeRepo(12));
    for (let i = 0; i < 4; i++) await addFile(ours, `events/e${i}.md`, SMALL);
    await addFile(ours, 'seed/f3.md', SMALL);
    expect(sharedIndexId(ours.readIndex()!)).toBeDefined();
    expect(ours.indexStats()).toEqual(general(ours));
    expect(ours.indexStats()!.size).toBe(16);
    // Split by native git, which keeps bitmaps of what it replaced: neither reader merges
    // those, and both give up alike (verify then reports the index stale).
    git(dir, 'update-index', '--split-index');
    fs.writeFileSync(path.join(dir, 'seed', 'f1.md'), 'changed\n');
    git(dir, 'add', 'seed/f1.md');
    expect(sharedIndexId(repo.readIndex()!)).toBeDefined();
    expect(repo.indexStats()).toEqual(general(repo));
    // A merge conflict: the path's stages 1-3 are not entries verify compares.
    const conflicted = nativeRepo(3);
    git(conflicted, 'checkout', '-q', '-b', 'other');
    fs.writeFileSync(path.join(conflicted, 'seed', 'f0.md'), 'theirs\n');
    git(conflicted, 'commit', '-q', '-am', 'theirs');
    git(conflicted, 'checkout', '-q', 'main');
    fs.writeFileSync(path.join(conflicted, 'seed', 'f0.md'), 'ours\n');
    git(conflicted, 'commit', '-q', '-am', 'ours');
    try {
      git(conflicted, 'merge', '-q', 'other');
    } catch {
      // the conflict is the point
    }
    const stats = new GitRepository(conflicted).indexStats()!;
    expect(stats.has('seed/f0.md')).toBe(false);
    expect(stats.size).toBe(2);
    expect(stats).toEqual(general(new GitRepository(conflicted)));
  });
});
