#!/usr/bin/env node
// `record-heuristic`: the same as `lessons record-heuristic`.

import { recordHeuristicCommand } from './commands/record.js';
import { run } from './run.js';

await run('record-heuristic', process.argv.slice(2), (yargs) =>
  yargs.command({ ...recordHeuristicCommand, command: '$0' }),
);
