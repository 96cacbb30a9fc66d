#!/usr/bin/env node
// `record-failure`: the same as `lessons record-failure`.

import { recordFailureCommand } from './commands/record.js';
import { run } from './run.js';

await run('record-failure', process.argv.slice(2), (yargs) =>
  yargs.command({ ...recordFailureCommand, command: '$0' }),
);
