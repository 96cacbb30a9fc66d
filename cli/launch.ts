// What each bin runs, built as CommonJS (dist/cli/<bin>.cjs): a cold start in CommonJS skips
// Node's ES module loader, and with it the ~30 built-in modules (streams, readline, fs/promises)
// that importing node:fs as an ES module loads, about 6 ms of CPU. A record with plain flags
// runs the fast path (cached.ts) and never leaves CommonJS; anything else imports main.js.

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadRecordPath, type RecordPath } from './cached.js';
import type { Bin } from './main.js';

export async function launch(bin: Bin): Promise<void> {
  const argv = process.argv.slice(2);
  const fast = loadRecordPath(path.join(__dirname, 'record.cjs'));
  if (fast !== undefined && (await runRecord(fast, bin, argv))) return;
  const url = pathToFileURL(path.join(__dirname, 'main.js')).href;
  const { main } = (await import(url)) as typeof import('./main.js');
  await main(bin, argv);
}

/** Run a record on the fast path; false when its flags need the full command line. */
async function runRecord(fast: RecordPath, bin: Bin, argv: string[]): Promise<boolean> {
  if (bin !== 'lessons') return fast.runFast(bin, bin, argv, argv);
  const record = fast.splitLessonsArgv(argv);
  return record !== undefined && fast.runFast('lessons', record.command, record.flags, argv);
}
