// `lessons remote add|remove|list`: a thin layer over `git remote` in the store, so plain
// `git remote` works just as well (sync reads whatever git has configured).

import { SyncError, UsageError } from '../errors/index.js';
import { requireStore } from '../maintenance/verify.js';
import { NativeGit } from './native.js';

export interface RemoteInfo {
  readonly name: string;
  readonly fetch: string;
  readonly push: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function checkName(name: string): void {
  if (!NAME.test(name) || name.endsWith('.lock') || name.includes('..'))
    throw new UsageError(
      'USAGE',
      `${JSON.stringify(name)} is not a usable remote name: use letters, digits, ".", "_" and "-" (for example origin).`,
    );
}

export async function listRemotes(dir: string): Promise<RemoteInfo[]> {
  const layout = requireStore(dir);
  const out = await new NativeGit(layout.dir).check(['remote', '-v']);
  const remotes = new Map<string, { fetch: string; push: string }>();
  for (const line of out.split('\n')) {
    const m = /^(\S+)\t(.*) \((fetch|push)\)$/.exec(line);
    if (m === null) continue;
    const entry = remotes.get(m[1]!) ?? { fetch: '', push: '' };
    entry[m[3] as 'fetch' | 'push'] = m[2]!;
    remotes.set(m[1]!, entry);
  }
  return [...remotes].map(([name, urls]) => ({ name, ...urls }));
}

export async function addRemote(dir: string, name: string, url: string): Promise<RemoteInfo> {
  const layout = requireStore(dir);
  checkName(name);
  if (url.trim() === '')
    throw new UsageError(
      'USAGE',
      'the remote URL is empty: pass a path, file://, ssh or https URL.',
    );
  const git = new NativeGit(layout.dir);
  if ((await git.run(['remote', 'get-url', name])).code === 0)
    throw new UsageError(
      'USAGE',
      `the store already has a remote named ${name}: \`lessons remote remove ${name}\` first, or pick another name.`,
    );
  const result = await git.run(['remote', 'add', name, url]);
  if (result.code !== 0)
    throw new SyncError('GIT_FAILED', `git remote add failed: ${result.stderr.trim()}`);
  return { name, fetch: url, push: url };
}

export async function removeRemote(dir: string, name: string): Promise<void> {
  const layout = requireStore(dir);
  const git = new NativeGit(layout.dir);
  if ((await git.run(['remote', 'get-url', name])).code !== 0)
    throw new UsageError(
      'REMOTE_UNKNOWN',
      `the store has no remote named ${JSON.stringify(name)}: \`lessons remote list\` shows them.`,
    );
  await git.check(['remote', 'remove', name]);
}
