// The user's own git, found on PATH: the transport of sync and clone (ssh keys, credential
// helpers, local paths, file://, http(s) all work as they do for the person's git), and a few
// read-only questions about history (ancestry, merge bases, new commits).

import fs from 'node:fs';
import path from 'node:path';
import { SyncError } from '../errors/index.js';

/**
 * node:child_process, loaded when git is first run: the record path imports this module (through
 * the store) but never runs git, and loading child_process costs a cold record about 4 ms.
 */
function childProcess(): typeof import('node:child_process') {
  return process.getBuiltinModule('node:child_process');
}

export interface GitRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The git executable on PATH, or GIT_NOT_FOUND naming what is missing and where it looked. */
export function findGit(env: NodeJS.ProcessEnv = process.env): string {
  const dirs = (env.PATH ?? '').split(path.delimiter).filter((d) => d !== '');
  const names = process.platform === 'win32' ? ['git.exe', 'git.cmd'] : ['git'];
  for (const dir of dirs)
    for (const name of names) {
      const candidate = path.join(dir, name);
      try {
        if (fs.statSync(candidate).isFile()) {
          fs.accessSync(candidate, fs.constants.X_OK);
          return candidate;
        }
      } catch {
        // not here
      }
    }
  throw new SyncError(
    'GIT_NOT_FOUND',
    `sync and clone use git, the command-line program, for the transport, and there is no \`git\` on PATH (${dirs.length === 0 ? 'PATH is empty' : dirs.join(path.delimiter)}). ` +
      'Install git (for example `apt-get install git`, `brew install git`) or add the folder that holds it to PATH. Nothing was changed.',
  );
}

/** Native git in one folder. */
export class NativeGit {
  readonly bin: string;
  readonly dir: string;

  constructor(dir: string, bin: string = findGit()) {
    this.dir = dir;
    this.bin = bin;
  }

  /** Run git with `args`; never throws for a non-zero exit (the caller decides). */
  run(args: readonly string[]): Promise<GitRun> {
    return new Promise((resolve, reject) => {
      childProcess().execFile(
        this.bin,
        // No automatic gc or maintenance from a fetch: writers may be at work in the store.
        ['-c', 'gc.auto=0', '-c', 'maintenance.auto=false', ...args],
        { cwd: this.dir, maxBuffer: 1 << 28, encoding: 'utf8' },
        (error, stdout, stderr) => {
          if (error !== null && typeof error.code !== 'number') {
            reject(
              new SyncError('GIT_FAILED', `could not run ${this.bin}: ${error.message}`, {
                cause: error,
              }),
            );
            return;
          }
          resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
        },
      );
    });
  }

  /** Run git and return its stdout; a non-zero exit is GIT_FAILED with git's own words. */
  async check(args: readonly string[]): Promise<string> {
    const result = await this.run(args);
    if (result.code !== 0)
      throw new SyncError(
        'GIT_FAILED',
        `\`git ${args.join(' ')}\` failed in ${this.dir}: ${result.stderr.trim() || `exit ${result.code}`}`,
        { data: { exit: result.code } },
      );
    return result.stdout;
  }

  /** Is `ancestor` in the history of `descendant` (or the same commit)? */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const result = await this.run(['merge-base', '--is-ancestor', ancestor, descendant]);
    if (result.code === 0) return true;
    if (result.code === 1) return false;
    throw new SyncError(
      'GIT_FAILED',
      `git merge-base --is-ancestor failed: ${result.stderr.trim()}`,
    );
  }

  /** The best common ancestor of two commits, or undefined for unrelated histories. */
  async mergeBase(a: string, b: string): Promise<string | undefined> {
    const result = await this.run(['merge-base', a, b]);
    if (result.code === 1 && result.stdout.trim() === '') return undefined;
    if (result.code !== 0)
      throw new SyncError('GIT_FAILED', `git merge-base failed: ${result.stderr.trim()}`);
    return result.stdout.trim();
  }

  /** Commits reachable from `tip` but not from `exclude`, newest first. */
  async newCommits(tip: string, exclude: string | undefined): Promise<string[]> {
    const out = await this.check([
      'rev-list',
      tip,
      ...(exclude === undefined ? [] : [`^${exclude}`]),
    ]);
    return out.split('\n').filter((l) => l !== '');
  }

  /**
   * The contents of many blobs through one `git cat-file --batch`: reading a fetched pack
   * object by object costs milliseconds each, this costs one process.
   */
  readBlobs(oids: readonly string[]): Promise<Map<string, Buffer>> {
    const wanted = [...new Set(oids)];
    if (wanted.length === 0) return Promise.resolve(new Map<string, Buffer>());
    return new Promise((resolve, reject) => {
      const child = childProcess().spawn(this.bin, ['cat-file', '--batch'], {
        cwd: this.dir,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const chunks: Buffer[] = [];
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => chunks.push(d));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => {
        const out = Buffer.concat(chunks);
        const blobs = new Map<string, Buffer>();
        let at = 0;
        for (const oid of wanted) {
          const eol = out.indexOf(0x0a, at);
          const header = out.toString('utf8', at, eol < 0 ? out.length : eol).split(' ');
          if (eol < 0 || header[0] !== oid || header[1] !== 'blob') {
            reject(
              new SyncError(
                'GIT_FAILED',
                `git cat-file could not read blob ${oid}: ${header.join(' ') || stderr.trim() || `exit ${code}`}`,
              ),
            );
            return;
          }
          const size = Number(header[2]);
          blobs.set(oid, out.subarray(eol + 1, eol + 1 + size));
          at = eol + 1 + size + 1;
        }
        resolve(blobs);
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(`${wanted.join('\n')}\n`);
    });
  }
}
