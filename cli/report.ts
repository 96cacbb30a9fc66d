// What every command shares without yargs: the global flags (as data) and the one place that
// turns an error into output and an exit code. Kept apart from run.ts so the record fast path
// (fast.ts) loads neither yargs nor anything that imports it.

import { InternalError, LessonsError } from '../src/errors/index.js';
import { writeErr, writeOut } from './stdio.js';

export const GLOBAL_OPTIONS = {
  dir: {
    type: 'string',
    requiresArg: true,
    global: true,
    describe: 'The store (default $LESSONS_DIR, else ./memory)',
  },
  json: { type: 'boolean', global: true, describe: 'Print exactly one JSON object on stdout' },
  quiet: { type: 'boolean', global: true, describe: 'Print nothing on success' },
  'lock-timeout': {
    type: 'string',
    requiresArg: true,
    global: true,
    describe: 'How long to wait for a busy store: seconds or 500ms/30s/2m (default 60s)',
  },
} as const;

export function wantsJson(argv: readonly string[]): boolean {
  return argv.includes('--json') && !argv.slice(0, argv.indexOf('--json')).includes('--');
}

/** Render an error to stderr (and stdout with --json) and return the exit code. */
export function reportError(error: unknown, argv: readonly string[], bin: string): number {
  const known =
    error instanceof LessonsError
      ? error
      : new InternalError(error instanceof Error ? error.message : String(error), { cause: error });
  if (wantsJson(argv)) writeOut(`${JSON.stringify({ ok: false, error: known.toJSON() })}\n`);
  writeErr(`${bin}: ${known.message}\n`);
  if (!(error instanceof LessonsError) && process.env.LESSONS_DEBUG && error instanceof Error)
    writeErr(`${error.stack}\n`);
  return known.exitCode;
}
