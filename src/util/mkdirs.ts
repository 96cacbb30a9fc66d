// `mkdir -p` that cannot spin. Node's mkdirSync(recursive) loops for ever where mkdir fails with
// ENOENT inside a folder that exists (procfs: `--dir /proc/x`): it creates the parent, which
// exists, and tries again. Here each missing folder is made once, from the nearest existing
// ancestor down, and such an ENOENT is reported as what it is.

import fs from 'node:fs';
import path from 'node:path';
import { errnoCode } from './durable.js';

/** Create `dir` and its missing parents. Throws the mkdir error (ENOENT included) as is. */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  let current = path.resolve(dir);
  for (;;) {
    if (fs.statSync(current, { throwIfNoEntry: false }) !== undefined) break;
    missing.push(current);
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const folder of missing.reverse()) {
    try {
      fs.mkdirSync(folder);
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
    }
  }
}
