// A real small file system for disk-full tests: a tmpfs mounted in a temp directory, unmounted
// when the test ends. Mounting needs root (CAP_SYS_ADMIN); where it cannot be done, tests skip
// and say why.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';

let probed: string | undefined | null = null;

/** Why a tmpfs cannot be mounted here, or undefined when it can. */
export function tmpfsUnavailable(): string | undefined {
  if (probed !== null) return probed;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lessons-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'pipe' });
    execFileSync('umount', [dir], { stdio: 'pipe' });
    probed = undefined;
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
    probed = `cannot mount a tmpfs here (${process.getuid?.() === 0 ? 'root' : 'not root'}: ${stderr || (error as Error).message}); run the suite as root to test a full disk`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return probed;
}

/** Mount a tmpfs of `size` (e.g. "3m") in a fresh temp directory; unmounted after the test. */
export function mountTmpfs(size: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lessons-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  onTestFinished(() => {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  return dir;
}

/** Write `file` until the file system is full (ENOSPC). Returns the bytes written. */
export function fillDisk(file: string): number {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let total = 0;
  try {
    for (let size = chunk.length; size >= 1;) {
      try {
        total += fs.writeSync(fd, chunk, 0, size);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
        size = Math.floor(size / 2);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return total;
}
