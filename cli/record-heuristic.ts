#!/usr/bin/env node
// `record-heuristic`: the same as `lessons record-heuristic`.

import { runFast } from './fast.js';
import { recordHeuristicCommand } from './commands/record.js';
import { run } from './run.js';

const argv = process.argv.slice(2);
if (!(await runFast('record-heuristic', 'record-heuristic', argv, argv)))
  await run('record-heuristic', argv, (yargs) =>
    yargs.command({ ...recordHeuristicCommand, command: '$0' }),
  );
