// git's own lock-file protocol: `<file>.lock` created with O_EXCL, written, fsynced, renamed
// over `<file>`. Native git and lessons both take these, so they exclude each other.

import fs from 'node:fs';
import path from 'node:path';
import { GitLockedError } from '../errors/index.js';
import { errnoCode, fsyncDir, rmQuiet } from '../util/durable.js';

export class GitLockFile {
  readonly target: string;
  readonly lockPath: string;
  private fd: number | undefined;
  private done = false;

  private constructor(target: string, fd: number) {
    this.target = target;
    this.lockPath = `${target}.lock`;
    this.fd = fd;
  }

  /** Take the lock on `target`, failing at once with GIT_LOCKED if anyone holds it. */
  static acquire(target: string): GitLockFile {
    try {
      return new GitLockFile(target, fs.openSync(`${target}.lock`, 'wx', 0o644));
    } catch (error) {
      if (errnoCode(error) === 'EEXIST') throw new GitLockedError(`${target}.lock`, error);
      throw error;
    }
  }

  /** Write the new content into the lock file; fsync it when asked. */
  write(data: Uint8Array, doSync: boolean): void {
    if (this.fd === undefined) throw new Error('lock file already closed');
    let offset = 0;
    while (offset < data.length)
      offset += fs.writeSync(this.fd, data, offset, data.length - offset);
    if (doSync) fs.fsyncSync(this.fd);
  }

  /** Rename the lock over the target: the new content becomes visible at once. */
  commit(doSyncDir: boolean): void {
    this.close();
    fs.renameSync(this.lockPath, this.target);
    this.done = true;
    if (doSyncDir) fsyncDir(path.dirname(this.target));
  }

  /** Give the lock up without changing the target. Safe to call after commit(). */
  release(): void {
    this.close();
    if (!this.done) rmQuiet(this.lockPath);
    this.done = true;
  }

  private close(): void {
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Take the lock on `target`, waiting while someone else (native git) holds it, until
 * `deadline` (epoch ms); then GIT_LOCKED. git holds these locks for milliseconds, so the waits
 * are short and jittered: 5 ms at first, growing to about 50 ms.
 */
export async function acquireWaiting(target: string, deadline: number): Promise<GitLockFile> {
  for (let attempt = 0; ; attempt++) {
    try {
      return GitLockFile.acquire(target);
    } catch (error) {
      if (!(error instanceof GitLockedError) || Date.now() >= deadline) throw error;
    }
    const delay = Math.min(50, 5 * 1.5 ** attempt) * (0.5 + Math.random());
    await sleep(Math.max(1, Math.min(delay, deadline - Date.now())));
  }
}

/** True when `<target>.lock` exists. */
export function isGitLocked(target: string): boolean {
  return fs.existsSync(`${target}.lock`);
}
