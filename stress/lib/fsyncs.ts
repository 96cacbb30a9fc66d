// The fsync floor of the bench: how many fsyncs one record makes (files and folders apart),
// counted by wrapping fs.fsync and fs.fsyncSync, and what that many fsyncs of small files and
// folders cost alone on the same disk. Import this module before the library, so the
// library's modules capture the wrapped functions (files.ts promisifies fs.fsync at load).

import fs from 'node:fs';
import path from 'node:path';

export interface FsyncCount {
  files: number;
  dirs: number;
}

let counting: FsyncCount | undefined;

function tally(fd: number): void {
  if (counting === undefined) return;
  if (fs.fstatSync(fd).isDirectory()) counting.dirs++;
  else counting.files++;
}

const fsyncSync = fs.fsyncSync;
const fsync = fs.fsync;
fs.fsyncSync = (fd: number): void => {
  tally(fd);
  fsyncSync(fd);
};
fs.fsync = ((fd: number, callback: fs.NoParamCallback): void => {
  tally(fd);
  fsync(fd, callback);
}) as typeof fs.fsync;

/**
 * Count the fsyncs `fn` makes through Node (SQLite's own fsync of its WAL at COMMIT happens in
 * C, out of sight: the caller adds it).
 */
export async function countFsyncs(fn: () => Promise<unknown>): Promise<FsyncCount> {
  const count: FsyncCount = { files: 0, dirs: 0 };
  counting = count;
  try {
    await fn();
  } finally {
    counting = undefined;
  }
  return count;
}

let serial = 0;

/**
 * The floor: `count.files` small files created, written and fsynced, and `count.dirs`
 * fsyncs of the folder just written to, one after another in `dir`. Returns milliseconds.
 */
export function fsyncFloor(dir: string, count: FsyncCount): number {
  fs.mkdirSync(dir, { recursive: true });
  const started = performance.now();
  for (let i = 0; i < Math.max(count.files, count.dirs); i++) {
    if (i < count.files) {
      const fd = fs.openSync(path.join(dir, `f${serial++}`), 'wx');
      try {
        fs.writeSync(fd, 'a small record of a few hundred bytes\n'.repeat(8));
        fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    if (i < count.dirs) {
      const fd = fs.openSync(dir, 'r');
      try {
        fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
  }
  return performance.now() - started;
}
