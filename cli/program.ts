// The `lessons` program in yargs: every command, declared; handlers load lazily.

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
import { mcpCommand } from './commands/mcp.js';
import { recoverCommand } from './commands/recover.js';
import { run } from './run.js';

export async function runLessons(argv: readonly string[]): Promise<void> {
  await run('lessons', argv, (yargs) =>
    yargs
      .usage('$0 [--dir <store>] <command> [options]')
      .command(recordFailureCommand)
      .command(recordHeuristicCommand)
      .command(listCommand)
      .command(showCommand)
      .command(searchCommand)
      .command(contextCommand)
      .command(statsCommand)
      .command(recoverCommand)
      .command(importElfCommand)
      .command(verifyCommand)
      .command(cleanupCommand)
      .command(reindexCommand)
      .command(mcpCommand)
      .demandCommand(1, 'Name a command.'),
  );
}
