// Refusals that come before anything is created: a store lessons cannot use is refused with a
// usage error (exit 2) naming what is wrong and how to fix it, while the store is still exactly
// as it was (no .lessons/, no lock). The writers check again under the lock; this is what
// makes a refusal leave no trace.

import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors/index.js';
import { MAIN_REF, readHeadTarget, readRef } from '../git/refs.js';
import { type StoreLayout } from './layout.js';
import { RECORD_ROOTS } from '../record/paths.js';

/** What is wrong with the store's `.git`, as a UsageError; undefined when it is usable (or absent). */
export function gitdirProblem(layout: StoreLayout): UsageError | undefined {
  let stat: fs.Stats | undefined;
  try {
    stat = fs.lstatSync(layout.gitdir, { throwIfNoEntry: false });
  } catch {
    // The store path is not a folder (ENOTDIR): prepareStoreDir says so.
    return undefined;
  }
  if (stat === undefined || stat.isDirectory()) return undefined;
  if (stat.isSymbolicLink())
    return new UsageError(
      'STORE_UNSUPPORTED',
      `${layout.gitdir} is a symbolic link: lessons needs the store's own repository in .git. ` +
        `Replace the link with the repository it points to, or use another --dir.`,
    );
  let text = '';
  try {
    text = fs.readFileSync(layout.gitdir, 'utf8').slice(0, 4096);
  } catch {
    // unreadable: described as a plain file below
  }
  const gitdir = /^gitdir:\s*(.+?)\s*$/m.exec(text)?.[1];
  if (gitdir !== undefined) {
    const target = path.resolve(layout.dir, gitdir);
    const where = fs.existsSync(target) ? 'a repository elsewhere' : 'a folder that does not exist';
    return new UsageError(
      'STORE_UNSUPPORTED',
      `${layout.gitdir} is a "gitdir:" file pointing to ${target} (${where}): a worktree or submodule link. ` +
        `lessons needs a store with its own repository: use another --dir, or \`git clone\` the store into a folder of its own.`,
      { data: { gitdir: target } },
    );
  }
  return new UsageError(
    'STORE_UNSUPPORTED',
    `${layout.gitdir} is a plain file, not a git repository. Move it away (lessons then creates the repository) or use another --dir.`,
  );
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** HEAD on a branch other than main that has history: lessons would commit beside the person's work. */
export function branchProblem(layout: StoreLayout): UsageError | undefined {
  if (!isFile(path.join(layout.gitdir, 'HEAD'))) return undefined;
  let target: string | undefined;
  try {
    target = readHeadTarget(layout.gitdir);
  } catch {
    return undefined;
  }
  if (target === MAIN_REF) return undefined;
  // An unborn branch of another name (git init with another default) is adopted as main.
  if (
    target !== undefined &&
    readRef(layout.gitdir, target) === undefined &&
    readRef(layout.gitdir, MAIN_REF) === undefined
  )
    return undefined;
  return new UsageError(
    'STORE_WRONG_BRANCH',
    `the store's HEAD is ${target === undefined ? 'detached' : `on ${target.replace(/^refs\/heads\//, '')}`}, but lessons commits to main. ` +
      `Run \`git -C ${layout.dir} checkout main\` first.`,
    { data: { head: target ?? null } },
  );
}

/**
 * The record folders that are symbolic links (the record roots and the folders inside them down
 * to `depth`): writing through one would put bytes outside the store.
 */
export function linkedFolders(layout: StoreLayout, depth = 2): string[] {
  const links: string[] = [];
  const visit = (relative: string, level: number): void => {
    const stat = fs.lstatSync(path.join(layout.dir, relative), { throwIfNoEntry: false });
    if (stat === undefined) return;
    if (stat.isSymbolicLink()) {
      links.push(relative);
      return;
    }
    if (!stat.isDirectory() || level >= depth) return;
    for (const name of fs.readdirSync(path.join(layout.dir, relative)))
      visit(`${relative}/${name}`, level + 1);
  };
  for (const root of RECORD_ROOTS) visit(root, 0);
  return links;
}

export function symlinkProblem(layout: StoreLayout, links: readonly string[]): UsageError {
  const first = links[0]!;
  let target = '';
  try {
    target = ` -> ${fs.readlinkSync(path.join(layout.dir, first))}`;
  } catch {
    // gone meanwhile
  }
  return new UsageError(
    'STORE_SYMLINK',
    `${path.join(layout.dir, first)} is a symbolic link${target}: lessons never writes through a link in a store. ` +
      `Replace it with a real folder, or run \`lessons cleanup\`, which moves the link to quarantine and restores the folder from HEAD.`,
    { data: { paths: links } },
  );
}

/**
 * Throw the first reason the store cannot be used for writing, before anything is created:
 * `.git` that is not a repository, HEAD on another branch, `.lessons/` a symbolic link. (The
 * folders a record goes into are checked by the writer, before its lock too: recordFolderTarget.)
 */
export function refuseUnusableStore(layout: StoreLayout): void {
  const problem = gitdirProblem(layout) ?? branchProblem(layout);
  if (problem !== undefined) throw problem;
  let lessons: fs.Stats | undefined;
  try {
    lessons = fs.lstatSync(layout.lessonsDir, { throwIfNoEntry: false });
  } catch {
    lessons = undefined;
  }
  if (lessons?.isSymbolicLink() === true) throw symlinkProblem(layout, ['.lessons']);
}
