#!/usr/bin/env node
// `record-failure`: the same as `lessons record-failure`.

import { loadRecordPath } from './cached.js';

const argv = process.argv.slice(2);
const fast = loadRecordPath(import.meta.url) ?? (await import('./fast.js'));
if (!(await fast.runFast('record-failure', 'record-failure', argv, argv))) {
  const [{ run }, { recordFailureCommand }] = await Promise.all([
    import('./run.js'),
    import('./commands/record.js'),
  ]);
  await run('record-failure', argv, (yargs) =>
    yargs.command({ ...recordFailureCommand, command: '$0' }),
  );
}
