// Declarations of `lessons verify`, `lessons cleanup` and `lessons reindex`; handlers load lazily.

import type { Command, GlobalArgs } from '../output.js';

export interface VerifyArgs extends GlobalArgs {
  readonly deep?: boolean | undefined;
  readonly junit?: string | undefined;
  readonly remote?: string | undefined;
}

export interface CleanupArgs extends GlobalArgs {
  readonly dryRun?: boolean | undefined;
  readonly grace?: string | undefined;
  readonly deep?: boolean | undefined;
}

export const verifyCommand: Command<GlobalArgs, VerifyArgs> = {
  command: 'verify',
  describe: 'Check that git, index.db and the files agree (read-only; for CI)',
  builder: (yargs) =>
    yargs
      .option('deep', {
        type: 'boolean',
        describe: 'integrity_check, re-hash every object reachable from HEAD and every file',
      })
      .option('junit', { type: 'string', describe: 'also write a JUnit XML report to FILE' })
      .option('remote', {
        type: 'string',
        describe:
          'also fetch remote NAME: how far ahead and behind, and whether its new history parses',
      }),
  handler: async (argv) => (await import('../handlers/maintenance.js')).verify(argv),
};

export const cleanupCommand: Command<GlobalArgs, CleanupArgs> = {
  command: 'cleanup',
  describe: 'Reconcile the store to HEAD, quarantining whatever it removes (for a schedule)',
  builder: (yargs) =>
    yargs
      .option('dry-run', { type: 'boolean', describe: 'report the plan and change nothing' })
      .option('grace', {
        type: 'string',
        describe: 'leave untracked files younger than this (default 10m)',
      })
      .option('deep', {
        type: 'boolean',
        describe: 'also re-hash objects and repair corrupt blobs',
      }),
  handler: async (argv) => (await import('../handlers/maintenance.js')).cleanup(argv),
};

export const reindexCommand: Command<GlobalArgs, GlobalArgs> = {
  command: 'reindex',
  describe: 'Rebuild index.db from git HEAD',
  handler: async (argv) => (await import('../handlers/maintenance.js')).reindex(argv),
};
