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
import {
  demoteCommand,
  goldenCommand,
  promoteCommand,
  retireCommand,
  updateCommand,
  validateCommand,
  violateCommand,
} from './commands/lifecycle.js';
import { cloneCommand, remoteCommand, resolveCommand, syncCommand } from './commands/sync.js';
import type { Command, GlobalArgs } from './output.js';
import { dirOnLine, SHELLS, storeWords } from './completion.js';
import { NO_COMMAND, run } from './run.js';

// Typed as the commands' common base: each declares its own argument type.
const COMMANDS = [
  recordFailureCommand,
  recordHeuristicCommand,
  listCommand,
  showCommand,
  searchCommand,
  contextCommand,
  statsCommand,
  validateCommand,
  violateCommand,
  promoteCommand,
  demoteCommand,
  goldenCommand,
  updateCommand,
  retireCommand,
  recoverCommand,
  importElfCommand,
  verifyCommand,
  cleanupCommand,
  reindexCommand,
  cloneCommand,
  remoteCommand,
  syncCommand,
  resolveCommand,
  mcpCommand,
] as unknown as readonly Command<GlobalArgs, GlobalArgs>[];

export const COMMAND_NAMES = COMMANDS.map((c) => String(c.command).split(' ')[0]!);

export async function runLessons(argv: readonly string[]): Promise<void> {
  // yargs picks the completion script by $SHELL; `lessons completion fish` names it instead.
  const at = argv.indexOf('completion');
  const shell = at === -1 ? undefined : SHELLS.find((s) => s === argv[at + 1]);
  if (shell !== undefined) process.env.SHELL = `/bin/${shell}`;
  const asked = argv.indexOf('--get-yargs-completions');
  const line = asked === -1 ? [] : argv.slice(asked + 1);
  await run(
    'lessons',
    shell === undefined ? argv : argv.filter((_, i) => i !== at + 1),
    (yargs, track) => {
      let program = yargs
        .usage('$0 [--dir <store>] <command> [options]')
        .example('$0 record-failure --title "Migration dropped a column" --domain database', '')
        .example('$0 list --since 7d --format oneline', '')
        .example('$0 search "migration rollback"', '')
        .example('$0 --dir store verify --junit reports/lessons.xml', '')
        .epilog('Exit codes: 0 done, 1 not done or findings, 2 bad input, 3 busy, 70 a bug.');
      for (const command of COMMANDS) program = program.command(track(command));
      return (
        program
          .demandCommand(1, NO_COMMAND)
          // The flag the completion scripts call; declared so that it takes no value and strict
          // mode inside a command does not refuse it.
          .option('get-yargs-completions', { type: 'boolean', hidden: true, global: true })
          .completion(
            'completion',
            'Print the shell completion script: lessons completion bash|zsh|fish',
            (
              _current: string,
              _argv: unknown,
              defaults: (
                callback: (error: Error | null, words: string[] | undefined) => void,
              ) => void,
              done: (words: string[]) => void,
            ) => {
              defaults((_error, words) => {
                void storeWords(line[line.length - 2], dirOnLine(line)).then((extra) =>
                  done([...(extra.length > 0 ? [] : (words ?? [])), ...extra]),
                );
              });
            },
          )
      );
    },
    COMMAND_NAMES,
  );
}
