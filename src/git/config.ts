// Just enough of git's config format to find who commits: user.name and user.email from the
// store's own config, then the user's global config, as native git would.

import os from 'node:os';
import path from 'node:path';
import { readIfExists } from '../util/durable.js';
import type { Signature } from './commit.js';

export const DEFAULT_AUTHOR: Signature = { name: 'lessons', email: 'lessons@localhost' };

/** Parse a git config file into `section.key` (lowercased; subsections kept) -> last value. */
export function parseGitConfig(text: string): Map<string, string> {
  const values = new Map<string, string>();
  let section = '';
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]/.exec(line);
    if (header) {
      section =
        header[2] === undefined
          ? header[1]!.toLowerCase()
          : `${header[1]!.toLowerCase()}.${header[2]}`;
      continue;
    }
    const kv = /^([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*))?$/.exec(line);
    if (!kv || section === '') continue;
    values.set(`${section}.${kv[1]!.toLowerCase()}`, unquote(kv[2] ?? 'true'));
  }
  return values;
}

function unquote(raw: string): string {
  let out = '';
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '"') quoted = !quoted;
    else if (c === '\\' && i + 1 < raw.length) {
      const n = raw[++i]!;
      out += n === 'n' ? '\n' : n === 't' ? '\t' : n;
    } else if ((c === '#' || c === ';') && !quoted) break;
    else out += c;
  }
  return out.trim();
}

function configFiles(gitdir: string): string[] {
  const home = os.homedir();
  const xdg = process.env.XDG_CONFIG_HOME || path.join(home, '.config');
  // Later files win, as in git: system is skipped, global, then the repository's own.
  return [
    path.join(xdg, 'git', 'config'),
    path.join(home, '.gitconfig'),
    path.join(gitdir, 'config'),
  ];
}

/**
 * Who commits: user.name/user.email from git config (the store's, else the user's global),
 * else LESSONS_AUTHOR_NAME/LESSONS_AUTHOR_EMAIL, else a fixed default.
 */
export function resolveAuthor(gitdir: string, env: NodeJS.ProcessEnv = process.env): Signature {
  let name: string | undefined;
  let email: string | undefined;
  for (const file of configFiles(gitdir)) {
    const text = readIfExists(file)?.toString('utf8');
    if (text === undefined) continue;
    const config = parseGitConfig(text);
    name = config.get('user.name') ?? name;
    email = config.get('user.email') ?? email;
  }
  return {
    name: name || env.LESSONS_AUTHOR_NAME || DEFAULT_AUTHOR.name,
    email: email || env.LESSONS_AUTHOR_EMAIL || DEFAULT_AUTHOR.email,
  };
}
