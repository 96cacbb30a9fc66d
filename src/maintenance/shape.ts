// Findings about how the store is set up rather than about one record: HEAD on another branch,
// a symbolic link in a record folder. Each names what is wrong and how to fix it.

import fs from 'node:fs';
import path from 'node:path';
import type { StoreLayout } from '../resources/layout.js';
import { branchProblem } from '../resources/preflight.js';
import { finding, type Finding } from './findings.js';

/**
 * HEAD on another branch is a finding: writers refuse such a store. A detached HEAD is not:
 * it is how CI checks a store out (a pull request's merge commit), and verify reads it as is.
 */
export function shapeFindings(layout: StoreLayout): Finding[] {
  const branch = branchProblem(layout);
  return branch === undefined || branch.data.head === null
    ? []
    : [finding('STORE_WRONG_BRANCH', branch.message)];
}

/** A symbolic link found in a record folder: never followed, reported with where it points. */
export function linkFinding(layout: StoreLayout, p: string): Finding {
  let target = 'somewhere';
  try {
    target = fs.readlinkSync(path.join(layout.dir, p));
  } catch {
    // gone meanwhile
  }
  return finding(
    'STORE_SYMLINK',
    `${p} is a symbolic link to ${target}: lessons never writes through links in a store, and files under it are not part of the store`,
    { path: p },
  );
}
