// What each bin runs, built as CommonJS (dist/cli/<bin>.cjs): a cold start in CommonJS skips
// Node's ES module loader, and with it the ~30 built-in modules (streams, readline, fs/promises)
// that importing node:fs as an ES module loads, about 6 ms of CPU. A record with plain flags
// runs the fast path (record.cjs); anything else the full command line (main.cjs). Both are
// CommonJS bundles run with a V8 code cache (cached.ts).

import path from 'node:path';
import { loadCached, type Main, type McpBundle, type RecordPath } from './cached.js';
import type { Bin } from './main.js';
import { reportError } from './report.js';

/**
 * Run `bin`. Commands report their own failures; this catches what escapes them (a bundle that
 * cannot be loaded, say), so it too becomes one `lessons: ...` line, the JSON error object under
 * --json and exit 1, never an unhandled rejection.
 */
export async function launch(bin: Bin): Promise<void> {
  const argv = process.argv.slice(2);
  try {
    await start(bin, argv);
  } catch (error) {
    process.exitCode = reportError(error, argv, bin);
  }
}

/**
 * `lessons list | head -1`: once the reader has gone, what is left to print is dropped and the
 * command ends as it would have (as `git log | head` does), instead of an unhandled EPIPE.
 */
function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
      process.exitCode = 70;
    });
}

async function start(bin: Bin, argv: string[]): Promise<void> {
  // `lessons list` and the like need not load the record path only to be declined by it.
  const mayRecord =
    bin !== 'lessons' || argv.includes('record-failure') || argv.includes('record-heuristic');
  const fast = mayRecord ? loadRecordPath() : undefined;
  if (fast !== undefined && (await runRecord(fast, bin, argv))) return;
  // Only now: the record path writes its few lines without Node's streams (cli/stdio.ts).
  quietOnClosedPipe();
  // `lessons mcp`, a long-lived server, goes straight to its bundle: no yargs kept in memory.
  if (bin === 'lessons' && argv.includes('mcp')) {
    const mcp = loadCached<McpBundle>(path.join(__dirname, 'mcp.cjs'));
    if (mcp !== undefined && (await mcp.runMcpFast(argv))) return;
  }
  const file = path.join(__dirname, 'main.cjs');
  const full = loadCached<Main>(file);
  if (full === undefined) throw new Error(`${file} is missing: run \`npm run build\``);
  await full.main(bin, argv);
}

/**
 * The record fast path, or undefined when it is not built or cannot be loaded (for instance
 * half written by a build running meanwhile): the full command line records as well, slower.
 */
function loadRecordPath(): RecordPath | undefined {
  try {
    return loadCached<RecordPath>(path.join(__dirname, 'record.cjs'));
  } catch {
    return undefined;
  }
}

/** Run a record on the fast path; false when its flags need the full command line. */
async function runRecord(fast: RecordPath, bin: Bin, argv: string[]): Promise<boolean> {
  if (bin !== 'lessons') return fast.runFast(bin, bin, argv, argv);
  const record = fast.splitLessonsArgv(argv);
  return record !== undefined && fast.runFast('lessons', record.command, record.flags, argv);
}
