// Declaration of `lessons import-elf`; the handler loads lazily.

import type { Command, GlobalArgs } from '../output.js';

export interface ImportElfArgs extends GlobalArgs {
  readonly source?: string | undefined;
  readonly dryRun?: boolean | undefined;
  readonly includeBackups?: boolean | undefined;
  readonly allowSecret?: string[] | undefined;
}

export const importElfCommand: Command<GlobalArgs, ImportElfArgs> = {
  command: 'import-elf [source]',
  describe: "Import the shell-script framework's memory directory, as one transaction",
  builder: (yargs) =>
    yargs
      .positional('source', { type: 'string', describe: 'its memory/ folder' })
      .option('dry-run', {
        type: 'boolean',
        describe: 'report what would be imported; write nothing',
      })
      .option('include-backups', { type: 'boolean', describe: 'also import failures.backup/' })
      .option('allow-secret', {
        type: 'string',
        array: true,
        describe: 'import matches of this secret rule anyway (repeatable; see docs/secrets.md)',
      }),
  handler: async (argv) => (await import('../handlers/import-elf.js')).importElfHandler(argv),
};
