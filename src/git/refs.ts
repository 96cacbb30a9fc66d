// Reading refs (loose or packed) and moving one by compare-and-swap under git's lock file.

import fs from 'node:fs';
import path from 'node:path';
import { RefMovedError, StoreError } from '../errors/index.js';
import { readIfExists } from '../util/durable.js';
import { isOid } from './hash.js';
import { acquireWaiting, GitLockFile } from './lockfile.js';

export const MAIN_REF = 'refs/heads/main';

/** The commit a ref points to, or undefined when the ref does not exist yet. */
export function readRef(gitdir: string, ref: string): string | undefined {
  const loose = readIfExists(path.join(gitdir, ref));
  if (loose !== undefined) {
    const value = loose.toString('utf8').trim();
    if (!isOid(value))
      throw new StoreError(
        'GIT_REF_CORRUPT',
        `${ref} in ${gitdir} holds ${JSON.stringify(value.slice(0, 60))}, not a commit id`,
      );
    return value;
  }
  const packed = readIfExists(path.join(gitdir, 'packed-refs'));
  if (packed === undefined) return undefined;
  for (const line of packed.toString('utf8').split('\n')) {
    if (line.endsWith(` ${ref}`) && isOid(line.slice(0, 40))) return line.slice(0, 40);
  }
  return undefined;
}

/** The branch HEAD names, e.g. `refs/heads/main`, or undefined when HEAD is detached. */
export function readHeadTarget(gitdir: string): string | undefined {
  const head = readIfExists(path.join(gitdir, 'HEAD'))?.toString('utf8').trim();
  if (head === undefined) throw new StoreError('GIT_HEAD_MISSING', `${gitdir}/HEAD is missing`);
  return head.startsWith('ref: ') ? head.slice(5).trim() : undefined;
}

/**
 * Move `ref` from `expected` to `next` atomically and durably, or throw REF_MOVED / GIT_LOCKED
 * and change nothing. The rename of the fsynced lock file is the commit point.
 */
export function compareAndSwapRef(
  gitdir: string,
  ref: string,
  expected: string | undefined,
  next: string,
): void {
  const target = path.join(gitdir, ref);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  swapUnderLock(gitdir, ref, GitLockFile.acquire(target), expected, next);
}

/**
 * compareAndSwapRef, waiting up to `deadline` (epoch ms) while native git holds the ref's lock
 * (a commit, or `git pack-refs` during gc, takes it for a moment).
 */
export async function compareAndSwapRefWaiting(
  gitdir: string,
  ref: string,
  expected: string | undefined,
  next: string,
  deadline: number,
): Promise<void> {
  const target = path.join(gitdir, ref);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  swapUnderLock(gitdir, ref, await acquireWaiting(target, deadline), expected, next);
}

function swapUnderLock(
  gitdir: string,
  ref: string,
  lock: GitLockFile,
  expected: string | undefined,
  next: string,
): void {
  try {
    const actual = readRef(gitdir, ref);
    if (actual !== expected) throw new RefMovedError(ref, expected, actual);
    lock.write(Buffer.from(`${next}\n`), true);
    lock.commit(true);
  } finally {
    lock.release();
  }
}
