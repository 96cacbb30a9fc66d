// The one place that turns outcomes into exit codes and error output. Nothing else calls
// process.exit; commands throw, and this maps LessonsError classes to 1, 2 or 3.

import type { Argv } from 'yargs';
import { InternalError, LessonsError, UsageError } from '../src/errors/index.js';

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

function wantsJson(argv: readonly string[]): boolean {
  return argv.includes('--json') && !argv.slice(0, argv.indexOf('--json')).includes('--');
}

/** Render an error to stderr (and stdout with --json) and return the exit code. */
export function reportError(error: unknown, argv: readonly string[], bin: string): number {
  const known =
    error instanceof LessonsError
      ? error
      : new InternalError(error instanceof Error ? error.message : String(error), { cause: error });
  if (wantsJson(argv))
    process.stdout.write(`${JSON.stringify({ ok: false, error: known.toJSON() })}\n`);
  process.stderr.write(`${bin}: ${known.message}\n`);
  if (!(error instanceof LessonsError) && process.env.LESSONS_DEBUG && error instanceof Error)
    process.stderr.write(`${error.stack}\n`);
  return known.exitCode;
}

/** Parse and run; set process.exitCode from the outcome. */
export async function run(
  bin: string,
  argv: readonly string[],
  build: (yargs: Argv) => Argv,
): Promise<void> {
  try {
    const { default: yargs } = await import('yargs');
    const program = build(
      yargs([...argv])
        .scriptName(bin)
        .options(GLOBAL_OPTIONS)
        .strict()
        .exitProcess(false)
        .help()
        .alias('h', 'help')
        .version(__LESSONS_VERSION__)
        .wrap(Math.min(100, process.stdout.columns || 100))
        .fail((message, error) => {
          // yargs' own complaints (a flag without its value, an unknown flag) come as YError.
          if (error !== undefined && error.name !== 'YError') throw error;
          throw new UsageError(
            'USAGE',
            `${message.replace(/\.$/, '')}. Run \`${bin} --help\` for usage.`,
          );
        }),
    );
    skipHelpCache(program);
    await program.parseAsync();
  } catch (error) {
    process.exitCode = reportError(error, argv, bin);
  }
}

/**
 * yargs renders the full help text before every subcommand's handler, in case the handler
 * later asks for it (about 15 ms of a cold start). Ours never do: failures are reported by
 * reportError. This reaches into yargs internals, so it is guarded: if they change, the only
 * loss is those milliseconds.
 */
function skipHelpCache(program: Argv): void {
  const internals = (
    program as unknown as { getInternalMethods?: () => unknown }
  ).getInternalMethods?.() as
    { getUsageInstance?: () => { cacheHelpMessage?: () => void } } | undefined;
  const usage = internals?.getUsageInstance?.();
  if (typeof usage?.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => undefined;
}

declare global {
  const __LESSONS_VERSION__: string;
}
