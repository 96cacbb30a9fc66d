#!/usr/bin/env node
// `record-heuristic`: the same as `lessons record-heuristic`.

import { loadRecordPath } from './cached.js';

const argv = process.argv.slice(2);
const fast = loadRecordPath(import.meta.url) ?? (await import('./fast.js'));
if (!(await fast.runFast('record-heuristic', 'record-heuristic', argv, argv))) {
  const [{ run }, { recordHeuristicCommand }] = await Promise.all([
    import('./run.js'),
    import('./commands/record.js'),
  ]);
  await run('record-heuristic', argv, (yargs) =>
    yargs.command({ ...recordHeuristicCommand, command: '$0' }),
  );
}
