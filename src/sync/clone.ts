// `lessons clone <url> [--dir D]`: a new store from a remote. The user's git clones the
// repository (main checked out); then a writer's session makes it a store (index.db built from
// HEAD, .gitignore complete, journal empty), and verify checks the result.

import fs from 'node:fs';
import path from 'node:path';
import { SyncError, UsageError } from '../errors/index.js';
import { verifyStore, type VerifyReport } from '../maintenance/verify.js';
import { layoutFor } from '../resources/layout.js';
import { DEFAULT_STALE_MS } from '../resources/lock.js';
import { Writer, type WriterOptions } from '../txn/writer.js';
import { NativeGit } from './native.js';

export interface CloneReport {
  readonly ok: boolean;
  readonly dir: string;
  readonly url: string;
  readonly head: string | null;
  readonly records: number;
  readonly verify: VerifyReport;
}

/** The folder a clone of `url` goes to when none is given: its last part, less `.git`. */
export function defaultCloneDir(url: string): string {
  const last =
    url
      .replace(/[/\\]+$/, '')
      .split(/[/\\:]/)
      .pop() ?? '';
  const name = last.replace(/\.git$/, '');
  return name === '' ? 'memory' : name;
}

export async function cloneStore(
  url: string,
  dir: string | undefined,
  options: WriterOptions = {},
): Promise<CloneReport> {
  if (url.trim() === '')
    throw new UsageError(
      'USAGE',
      'clone needs the URL of a remote: a path, file://, ssh or https.',
    );
  const target = path.resolve(dir ?? defaultCloneDir(url));
  const stat = fs.statSync(target, { throwIfNoEntry: false });
  if (stat !== undefined && (!stat.isDirectory() || fs.readdirSync(target).length > 0))
    throw new UsageError(
      'CLONE_TARGET_EXISTS',
      `${target} already exists and is not an empty folder: pass --dir <a new folder>.`,
    );
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const git = new NativeGit(path.dirname(target));
  const heads = await git.run(['ls-remote', '--heads', url, MAIN]);
  if (heads.code !== 0)
    throw new SyncError(
      'CLONE_FAILED',
      `git could not read the remote ${url}: ${heads.stderr.trim() || `exit ${heads.code}`}. Check the URL and your access.`,
    );
  const hasMain = heads.stdout.trim() !== '';
  const result = await git.run([
    'clone',
    '--quiet',
    '--no-tags',
    ...(hasMain ? ['--branch', 'main'] : []),
    url,
    target,
  ]);
  if (result.code !== 0)
    throw new SyncError(
      'CLONE_FAILED',
      `git could not clone ${url}: ${result.stderr.trim() || `exit ${result.code}`}.`,
    );
  const writer = new Writer(layoutFor(target), options);
  try {
    await writer.run(async () => undefined);
  } finally {
    await writer.close();
  }
  const report = await verifyStore(target, { staleMs: options.staleMs ?? DEFAULT_STALE_MS });
  return {
    ok: report.ok,
    dir: target,
    url,
    head: report.head,
    records: report.records,
    verify: report,
  };
}

const MAIN = 'refs/heads/main';
