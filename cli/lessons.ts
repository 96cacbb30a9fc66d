#!/usr/bin/env node
// `lessons`: every command of the toolkit. A record with plain flags takes the fast path
// (cached.ts, fast.ts); everything else is parsed by yargs (program.ts).

import { loadRecordPath } from './cached.js';

const argv = process.argv.slice(2);
const fast = loadRecordPath(import.meta.url) ?? (await import('./fast.js'));
const record = fast.splitLessonsArgv(argv);
if (record === undefined || !(await fast.runFast('lessons', record.command, record.flags, argv)))
  await (await import('./program.js')).runLessons(argv);
