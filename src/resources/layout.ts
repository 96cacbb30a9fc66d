// Where everything lives inside a store, and the checks that keep record paths inside it.

import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors/index.js';
import { RECORD_ROOTS } from '../record/paths.js';
import { errnoCode } from '../util/durable.js';
import { makeDirs } from '../util/mkdirs.js';

export const GITIGNORE_LINES = ['index.db*', '.lessons/'] as const;

export interface StoreLayout {
  readonly dir: string;
  readonly gitdir: string;
  readonly dbFile: string;
  readonly lessonsDir: string;
  readonly lockDir: string;
  readonly journalDir: string;
  /** Group commit's handovers between waiting writers and the lock holder (resources/handover.ts). */
  readonly groupDir: string;
  readonly quarantineDir: string;
  /** Notes of sync conflicts a person has not resolved yet (resources/conflicts.ts). */
  readonly conflictsDir: string;
  /** The identity of the .git/index lessons wrote last (resources/git-index.ts). */
  readonly indexStampFile: string;
}

/** --dir, else $LESSONS_DIR, else ./memory, as an absolute path. */
export function resolveStoreDir(dir?: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(dir ?? (env.LESSONS_DIR || 'memory'));
}

export function layoutFor(dir: string): StoreLayout {
  const lessonsDir = path.join(dir, '.lessons');
  return {
    dir,
    gitdir: path.join(dir, '.git'),
    dbFile: path.join(dir, 'index.db'),
    lessonsDir,
    lockDir: path.join(lessonsDir, 'lock'),
    journalDir: path.join(lessonsDir, 'journal'),
    groupDir: path.join(lessonsDir, 'group'),
    quarantineDir: path.join(lessonsDir, 'quarantine'),
    conflictsDir: path.join(lessonsDir, 'conflicts'),
    indexStampFile: path.join(lessonsDir, 'index-stamp'),
  };
}

/**
 * Make sure the store directory and `.lessons/` exist and are writable, creating them on first
 * write. Problems with the path itself are usage errors (exit 2): nothing was touched.
 */
export function prepareStoreDir(layout: StoreLayout): void {
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(layout.dir);
  } catch (error) {
    if (errnoCode(error) === 'ENOTDIR') throw notDirectory(layout.dir);
    if (errnoCode(error) !== 'ENOENT') throw error;
  }
  if (stat !== undefined && !stat.isDirectory()) throw notDirectory(layout.dir);
  try {
    makeDirs(layout.lessonsDir);
    fs.accessSync(layout.lessonsDir, fs.constants.W_OK);
    if (stat !== undefined) fs.accessSync(layout.dir, fs.constants.W_OK);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOTDIR') throw notDirectory(layout.dir);
    // ENOENT from mkdir in a folder that exists: a pseudo file system such as /proc.
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOENT') {
      throw new UsageError(
        'STORE_NOT_WRITABLE',
        `the store ${layout.dir} is not writable (${code}). Fix its permissions or pass --dir <a writable folder>.`,
        { cause: error },
      );
    }
    throw error;
  }
}

function notDirectory(dir: string): UsageError {
  return new UsageError(
    'STORE_NOT_DIRECTORY',
    `the store path ${dir} is not a directory. Pass --dir <folder> (or set LESSONS_DIR) to a folder.`,
  );
}

/**
 * The absolute path of a record, refusing anything that would leave the store or pass
 * through a symbolic link inside it. `verified` holds folders already checked in this pass
 * (a transaction of thousands of records checks each folder once) and receives new ones.
 */
export function recordTarget(
  layout: StoreLayout,
  relative: string,
  verified?: Set<string>,
): string {
  return checkRecordPath(layout, relative, verified, 'file').target;
}

/**
 * recordTarget, and whether something is at that path already (a file, a folder; a link there
 * is refused): one lstat a record answers both.
 */
export function recordTargetState(
  layout: StoreLayout,
  relative: string,
  verified: Set<string>,
): { target: string; exists: boolean } {
  return checkRecordPath(layout, relative, verified, 'file');
}

/**
 * recordTarget, with only the folders on the way checked, not the file: for a caller that has
 * checked the file itself under the same lock, or will (the coordinator, before the journal).
 */
export function recordFolderTarget(
  layout: StoreLayout,
  relative: string,
  verified: Set<string>,
): string {
  return checkRecordPath(layout, relative, verified, 'folders').target;
}

function checkRecordPath(
  layout: StoreLayout,
  relative: string,
  verified: Set<string> | undefined,
  check: 'file' | 'folders',
): { target: string; exists: boolean } {
  const parts = relative.split('/');
  if (
    !RECORD_ROOTS.includes(parts[0] as (typeof RECORD_ROOTS)[number]) ||
    parts.some((p) => p === '' || p === '.' || p === '..')
  ) {
    throw new UsageError(
      'PATH_OUTSIDE_STORE',
      `refusing record path ${JSON.stringify(relative)}: records live under ${RECORD_ROOTS.join('/ or ')}/`,
    );
  }
  const target = path.join(layout.dir, ...parts);
  if (!target.startsWith(layout.dir + path.sep)) {
    throw new UsageError(
      'PATH_OUTSIDE_STORE',
      `refusing record path ${JSON.stringify(relative)}: it resolves outside the store`,
    );
  }
  let current = layout.dir;
  for (const [i, part] of parts.entries()) {
    current = path.join(current, part);
    const folder = i < parts.length - 1;
    if (!folder && check === 'folders') break;
    if (folder && verified?.has(current)) continue;
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(current);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return { target, exists: false };
      throw error;
    }
    if (stat.isSymbolicLink()) {
      throw new UsageError(
        'STORE_SYMLINK',
        `refusing to write through the symbolic link ${current}: lessons does not follow links inside a store. Replace it with a real folder.`,
      );
    }
    if (folder) verified?.add(current);
    else return { target, exists: true };
  }
  return { target, exists: false };
}

/**
 * `absolute`, once it is known to lie inside the store with no symbolic link among the folders
 * leading to it (the file itself may be a link: moving a link moves only the link). Every move
 * into quarantine and every write outside a transaction goes through here, so nothing is ever
 * written or moved through a link to a place outside the store.
 */
export function insideStore(layout: StoreLayout, absolute: string): string {
  const relative = path.relative(layout.dir, absolute);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new UsageError(
      'PATH_OUTSIDE_STORE',
      `refusing ${absolute}: it is outside the store ${layout.dir}`,
    );
  }
  let current = layout.dir;
  for (const part of relative.split(path.sep).slice(0, -1)) {
    current = path.join(current, part);
    const stat = fs.lstatSync(current, { throwIfNoEntry: false });
    if (stat === undefined) break;
    if (stat.isSymbolicLink()) {
      throw new UsageError(
        'STORE_SYMLINK',
        `refusing to write or move ${absolute} through the symbolic link ${current}: lessons never writes through a link in a store. Replace it with a real folder (\`lessons cleanup\` does, for a record folder).`,
        { data: { link: path.relative(layout.dir, current) } },
      );
    }
  }
  return absolute;
}
