#!/usr/bin/env node
// `lessons`: every command of the toolkit.

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
import { runFast, splitLessonsArgv } from './fast.js';
import { run } from './run.js';

const argv = process.argv.slice(2);
const record = splitLessonsArgv(argv);
if (record === undefined || !(await runFast('lessons', record.command, record.flags, argv)))
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
      .demandCommand(1, 'Name a command.'),
  );
