#!/usr/bin/env node
// `record-failure`: the same as `lessons record-failure`.

import { runFast } from './fast.js';
import { recordFailureCommand } from './commands/record.js';
import { run } from './run.js';

const argv = process.argv.slice(2);
if (!(await runFast('record-failure', 'record-failure', argv, argv)))
  await run('record-failure', argv, (yargs) =>
    yargs.command({ ...recordFailureCommand, command: '$0' }),
  );
