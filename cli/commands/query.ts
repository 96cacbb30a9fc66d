// Declarations of the read commands: list, show, search, context, stats. Handlers load lazily.

import type { Command, GlobalArgs } from '../output.js';

export interface ListArgs extends GlobalArgs {
  readonly format?: string | undefined;
  readonly kind?: string | undefined;
  readonly domain?: string | undefined;
  readonly tag?: string | undefined;
  readonly since?: string | undefined;
  readonly limit?: string | undefined;
  readonly sort?: string | undefined;
  readonly all?: boolean | undefined;
}

export interface ShowArgs extends GlobalArgs {
  readonly ref?: string | undefined;
}

export interface SearchArgs extends GlobalArgs {
  readonly format?: string | undefined;
  readonly text?: string[] | undefined;
  readonly kind?: string | undefined;
  readonly domain?: string | undefined;
  readonly limit?: string | undefined;
  readonly raw?: boolean | undefined;
  readonly all?: boolean | undefined;
}

export interface ContextArgs extends GlobalArgs {
  readonly domain?: string | undefined;
  readonly tags?: string | undefined;
  readonly maxTokens?: string | undefined;
}

/** A flag taking a whole number >= 1; the handler checks it (wholeNumber in common.ts). */
const number = { type: 'string', requiresArg: true } as const;

const format = {
  type: 'string',
  requiresArg: true,
  describe:
    'short (default), oneline, full, ids, paths, or a template such as "{short} {date} {title}"',
} as const;

const kind = {
  type: 'string',
  choices: ['failure', 'heuristic'],
  describe: 'only this kind',
} as const;

export const listCommand: Command<GlobalArgs, ListArgs> = {
  command: 'list',
  describe: 'List committed records, newest first',
  builder: (yargs) =>
    yargs
      .option('kind', kind)
      .option('domain', { type: 'string', describe: 'only this domain' })
      .option('tag', { type: 'string', describe: 'only records with this tag' })
      .option('since', {
        type: 'string',
        describe: 'created on or after a date (YYYY-MM-DD, ISO) or within a span (7d, 2w, 12h)',
      })
      .option('limit', { ...number, describe: 'at most N records (default 50)' })
      .option('format', format)
      .option('sort', {
        type: 'string',
        choices: ['recent', 'confidence', 'severity'],
        describe: 'order',
      })
      .option('all', { type: 'boolean', describe: 'include retired records' })
      .example('$0 list --domain database --sort severity', '')
      .example('$0 list --all --kind heuristic --sort confidence', '')
      .example('$0 list --since 2w --format "{short}\\t{date}\\t{title}"', '')
      .example('$0 --json list --limit 500', ''),
  handler: async (argv) => (await import('../handlers/query.js')).list(argv),
};

export const showCommand: Command<GlobalArgs, ShowArgs> = {
  // Operands are declared optional and checked by the handler, so that yargs reports an
  // unknown flag (`show -x`) before a missing operand.
  command: 'show [ref]',
  describe: 'Show one record by id, unique id prefix, rowid or path',
  builder: (yargs) =>
    yargs.positional('ref', {
      type: 'string',
      describe: 'a ULID, a unique prefix of one (any case), a rowid, or the record path',
    }),
  handler: async (argv) => (await import('../handlers/query.js')).show(argv),
};

export const searchCommand: Command<GlobalArgs, SearchArgs> = {
  command: 'search [text..]',
  describe: 'Full-text search over titles, rules, bodies, tags and domains',
  builder: (yargs) =>
    yargs
      .positional('text', { type: 'string', array: true, describe: 'the words to find' })
      .option('kind', kind)
      .option('domain', { type: 'string', describe: 'only this domain' })
      .option('limit', { ...number, describe: 'at most N hits (default 20)' })
      .option('format', {
        ...format,
        describe:
          'a layout (short, oneline, full, ids, paths) or a template; {snippet} and {score} too',
      })
      .option('raw', {
        type: 'boolean',
        describe: 'the text is an FTS5 query (AND, OR, NOT, "phrase", prefix*)',
      })
      .option('all', { type: 'boolean', describe: 'include retired records' })
      .example('$0 search cache stampede', '')
      .example('$0 search --raw "retry OR backoff"', ''),
  handler: async (argv) => (await import('../handlers/query.js')).search(argv),
};

export const contextCommand: Command<GlobalArgs, ContextArgs> = {
  command: 'context',
  describe: "A Markdown digest of a domain's rules and failures for an agent",
  builder: (yargs) =>
    yargs
      .option('domain', { type: 'string', describe: 'the domain of the task' })
      .option('tags', {
        type: 'string',
        describe: 'related records from other domains by tag (a,b)',
      })
      .option('max-tokens', {
        ...number,
        describe: 'token budget (default 2000; 1 token ~ 4 chars)',
      }),
  handler: async (argv) => (await import('../handlers/query.js')).context(argv),
};

export const statsCommand: Command<GlobalArgs, GlobalArgs> = {
  command: 'stats',
  describe: 'Counts by kind, domain and month; size; last commit',
  handler: async (argv) => (await import('../handlers/query.js')).stats(argv),
};
