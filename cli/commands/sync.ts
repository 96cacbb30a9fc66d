// Declarations of `lessons clone`, `lessons remote`, `lessons sync` and `lessons resolve`;
// handlers load lazily.

import type { Command, GlobalArgs } from '../output.js';

export interface CloneArgs extends GlobalArgs {
  readonly url?: string | undefined;
}

export interface RemoteArgs extends GlobalArgs {
  readonly action?: string | undefined;
  readonly name?: string | undefined;
  readonly url?: string | undefined;
}

export interface SyncArgs extends GlobalArgs {
  readonly remote?: string | undefined;
}

export interface ResolveArgs extends GlobalArgs {
  readonly conflict?: string | undefined;
}

export const cloneCommand: Command<GlobalArgs, CloneArgs> = {
  command: 'clone [url]',
  describe: 'Make a new store from a remote: the repository, index.db built from HEAD, verified',
  builder: (yargs) =>
    yargs
      .positional('url', {
        type: 'string',
        describe: 'a path, file://, ssh or https URL that git can clone',
      })
      .example('$0 clone git@example.com:team/lessons.git --dir memory', '')
      .example('$0 clone /srv/git/lessons.git --dir ~/lessons', ''),
  handler: async (argv) => (await import('../handlers/sync.js')).clone(argv),
};

export const remoteCommand: Command<GlobalArgs, RemoteArgs> = {
  command: 'remote [action] [name] [url]',
  describe: 'List, add or remove the remotes sync uses (plain `git remote` works as well)',
  builder: (yargs) =>
    yargs
      .positional('action', { type: 'string', describe: 'list (default), add or remove' })
      .positional('name', { type: 'string', describe: 'the remote name, for example origin' })
      .positional('url', { type: 'string', describe: 'for add: a path, file://, ssh or https URL' })
      .example('$0 remote add origin /srv/git/lessons.git', '')
      .example('$0 remote list --json', ''),
  handler: async (argv) => (await import('../handlers/sync.js')).remote(argv),
};

export const syncCommand: Command<GlobalArgs, SyncArgs> = {
  command: 'sync',
  describe: "Fetch the remote's records, integrate them (one transaction), push this store's",
  builder: (yargs) =>
    yargs
      .option('remote', {
        type: 'string',
        requiresArg: true,
        describe: 'the remote (default origin)',
      })
      .example('$0 sync', '')
      .example('$0 --dir memory sync --remote backup --json', ''),
  handler: async (argv) => (await import('../handlers/sync.js')).sync(argv),
};

export const resolveCommand: Command<GlobalArgs, ResolveArgs> = {
  command: 'resolve [conflict]',
  describe: 'Mark a sync conflict (by id, path or "all") as decided by a person',
  builder: (yargs) =>
    yargs
      .positional('conflict', { type: 'string', describe: 'a conflict id, its path, or all' })
      .example('$0 resolve 01JDX3ABCDEF-1', ''),
  handler: async (argv) => (await import('../handlers/sync.js')).resolve(argv),
};
