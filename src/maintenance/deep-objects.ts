// verify --deep's check of git: every object reachable from HEAD read and hashed again. It
// needs only the repository, so the scan thread runs it (scan-thread.ts) while the main thread
// checks the records; inline otherwise.

import { parseCommit } from '../git/commit.js';
import type { GitRepository } from '../git/repository.js';
import { isTreeMode, parseTree } from '../git/tree.js';
import type { OnProgress } from '../util/progress.js';
import { finding, type Finding } from './findings.js';

/** Re-hash every object reachable from HEAD. */
export async function deepObjects(
  repo: GitRepository,
  head: string,
  onProgress?: OnProgress,
): Promise<Finding[]> {
  const problems: Finding[] = [];
  const seen = new Set<string>();
  const check = async (oid: string, what: string): Promise<Buffer | undefined> => {
    if (seen.has(oid)) return undefined;
    seen.add(oid);
    try {
      return (await repo.objects.read(oid, true)).content;
    } catch (error) {
      problems.push(
        finding('GIT_OBJECT_CORRUPT', `${what} ${oid}: ${(error as Error).message}`, {
          path: `.git/objects/${oid.slice(0, 2)}/${oid.slice(2)}`,
        }),
      );
      return undefined;
    }
  };
  const walkTree = async (oid: string, base: string): Promise<void> => {
    const content = await check(oid, `tree ${base || '/'}`);
    if (content === undefined) return;
    for (const entry of parseTree(oid, content)) {
      const p = base === '' ? entry.name : `${base}/${entry.name}`;
      if (isTreeMode(entry.mode)) await walkTree(entry.oid, p);
      else await check(entry.oid, `blob of ${p}`);
    }
  };
  // The commits first (each re-hashed), then their trees, so the walk can report progress
  // commit by commit (a tree shared with the previous commit is only seen once).
  const shallow = repo.shallowCommits();
  const trees: string[] = [];
  let commit: string | undefined = head;
  while (commit !== undefined) {
    const content = await check(commit, 'commit');
    if (content === undefined) break;
    const parsed = parseCommit(commit, content);
    trees.push(parsed.tree);
    // The edge of a shallow clone: its parents were never fetched, which is not damage.
    commit = shallow.has(commit) ? undefined : parsed.parents[0];
  }
  for (const [i, tree] of trees.entries()) {
    await walkTree(tree, '');
    onProgress?.(i + 1, trees.length, 'hashing git objects');
  }
  return problems;
}
