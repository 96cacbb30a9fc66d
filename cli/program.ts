// The `lessons` program in yargs: every command, declared; handlers load lazily.

import type { CommandModule } from 'yargs';
import { UsageError } from '../src/errors/index.js';
import { recordFailureCommand, recordHeuristicCommand } from './commands/record.js';
import { cleanupCommand, reindexCommand, verifyCommand } from './commands/maintenance.js';
import {
  contextCommand,
  listCommand,
  searchCommand,
  showCommand,
  statsCommand,
} from './commands/query.js';
import { importElfCommand } from './commands/import-elf.js';
import { recoverCommand } from './commands/recover.js';
import type { GlobalArgs } from './output.js';
import { run } from './run.js';

// Typed as the commands' common base: each declares its own argument type.
const COMMANDS = [
  recordFailureCommand,
  recordHeuristicCommand,
  listCommand,
  showCommand,
  searchCommand,
  contextCommand,
  statsCommand,
  recoverCommand,
  importElfCommand,
  verifyCommand,
  cleanupCommand,
  reindexCommand,
] as unknown as readonly CommandModule<GlobalArgs, GlobalArgs>[];

export const COMMAND_NAMES = COMMANDS.map((c) => String(c.command).split(' ')[0]!);

/**
 * `lessons` alone, or with only flags. A default command (rather than yargs' demandCommand)
 * lets strict mode name an unknown flag first: `lessons --verison` says so, with a suggestion.
 */
const noCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: '$0',
  describe: false,
  handler: () => {
    throw new UsageError('USAGE', 'Name a command. Run `lessons --help` for the list.');
  },
};

export async function runLessons(argv: readonly string[]): Promise<void> {
  await run(
    'lessons',
    argv,
    (yargs, track) => {
      let program = yargs.usage('$0 [--dir <store>] <command> [options]');
      for (const command of COMMANDS) program = program.command(track(command));
      return program.command(noCommand);
    },
    COMMAND_NAMES,
  );
}
