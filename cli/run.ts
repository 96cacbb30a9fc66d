// The yargs command line: parse, run the command's handler, and set the exit code through
// reportError (report.ts). Nothing calls process.exit; commands throw, and reportError maps
// LessonsError classes to 1, 2 or 3.

import type { Argv } from 'yargs';
import { UsageError } from '../src/errors/index.js';
import { protectOperands } from './operands.js';
import { GLOBAL_OPTIONS, reportError } from './report.js';

export { GLOBAL_OPTIONS, reportError };

/** Parse and run; set process.exitCode from the outcome. */
export async function run(
  bin: string,
  argv: readonly string[],
  build: (yargs: Argv) => Argv,
): Promise<void> {
  try {
    const { default: yargs } = await import('yargs');
    // `--` ends the options in every command (operands.ts).
    const operands = protectOperands(argv, bin === 'lessons');
    const program = build(
      yargs(operands.argv)
        .middleware((args) => void operands.restore(args))
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
            `${operands.unmask(message).replace(/\.$/, '')}. Run \`${bin} --help\` for usage.`,
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
