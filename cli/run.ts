// The yargs command line: parse, run the command's handler, and set the exit code through
// reportError (report.ts). Nothing calls process.exit; commands throw, and reportError maps
// LessonsError classes to 1, 2, 3 or 70.
//
// Conventions people expect of a command line, kept here: help and version go to stdout, or
// inside the one JSON object under --json; an unknown command or flag is named, with the
// nearest known one ("did you mean"); `-v`/`-V` print the version.

import { closest, distance } from 'fastest-levenshtein';
import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../src/errors/index.js';
import { protectOperands } from './operands.js';
import type { Command, Outcome } from './output.js';
import { GLOBAL_OPTIONS, reportError, wantsJson } from './report.js';

export { GLOBAL_OPTIONS, reportError };

/** yargs' message when no command is given (demandCommand). */
export const NO_COMMAND = 'Name a command.';

/**
 * Declares a command: its flags can be suggested when one is misspelt, and what its handler
 * returns (an Outcome) decides the exit code.
 */
export type Track = <T, U>(command: Command<T, U>) => CommandModule<T, U>;

/** Parse and run; set process.exitCode from the outcome. */
export async function run(
  bin: string,
  argv: readonly string[],
  build: (yargs: Argv, track: Track) => Argv,
  commandNames: readonly string[] = [],
): Promise<void> {
  try {
    const { default: yargs } = await import('yargs');
    // `--` ends the options in every command (operands.ts).
    const operands = protectOperands(argv, bin === 'lessons');
    // The yargs instance of the command being parsed (its builder ran), for did-you-mean.
    let context: Argv | undefined;
    let command: string | undefined;
    let outcome: Outcome | undefined;
    const track: Track = <T, U>(module: Command<T, U>): CommandModule<T, U> => {
      const builder = module.builder as ((y: Argv) => Argv) | undefined;
      const name = String(module.command).split(' ')[0];
      const tracking = (y: Argv): Argv => {
        context = y;
        command = name === '$0' ? undefined : name;
        return builder === undefined ? y : builder(y);
      };
      return {
        ...module,
        builder: tracking as unknown as CommandModule<T, U>['builder'],
        handler: async (args) => {
          outcome = (await module.handler(args)) ?? 'done';
        },
      };
    };
    const program = build(
      yargs(operands.argv)
        .middleware((args) => void operands.restore(args))
        .scriptName(bin)
        // No single-letter flags take values, so `-dash` is one unknown flag named "dash",
        // not -d -a -s -h (which printed the help).
        .parserConfiguration({ 'short-option-groups': false })
        .options(GLOBAL_OPTIONS)
        .strict()
        .exitProcess(false)
        .help()
        .alias('h', 'help')
        .version(__LESSONS_VERSION__)
        .alias('version', ['v', 'V'])
        .wrap(Math.min(100, process.stdout.columns || 100))
        .fail((message, error) => {
          // yargs' own complaints (a flag without its value, an unknown flag) come as YError.
          if (error !== undefined && error.name !== 'YError') throw error;
          // No command, but an unknown flag (`lessons --verison`): name the flag first.
          const unknownFlags =
            message === NO_COMMAND ? unknownFlagsOf(argv, program) : ([] as string[]);
          throw usageError(
            bin,
            argv,
            unknownFlags.length > 0
              ? `Unknown arguments: ${unknownFlags.join(', ')}`
              : operands.unmask(message),
            {
              command,
              flags: flagNames(context ?? program),
              commands: commandNames,
            },
          );
        }),
      track,
    );
    skipHelpCache(program);
    let output = '';
    await program.parseAsync(operands.argv, {}, (_error, _argv, text) => {
      output = text;
    });
    // Help or the version: yargs hands them to the callback above instead of printing them.
    if (output !== '') printOutput(output, wantsJson(argv));
    // The one place that turns an outcome into an exit code (errors: reportError below).
    if (outcome === 'not-done') process.exitCode = 1;
  } catch (error) {
    process.exitCode = reportError(error, argv, bin);
  }
}

function printOutput(text: string, json: boolean): void {
  if (!json) {
    process.stdout.write(`${text}\n`);
    return;
  }
  const value =
    text === __LESSONS_VERSION__
      ? { version: text }
      : /^(#compdef|###-begin-)/.test(text)
        ? { script: text }
        : { help: text };
  process.stdout.write(`${JSON.stringify({ ok: true, ...value })}\n`);
}

/** Flags in `argv` (before `--`) that the top level does not know, without their dashes. */
function unknownFlagsOf(argv: readonly string[], program: Argv): string[] {
  const options = (
    program as unknown as {
      getOptions?: () => { key: Record<string, unknown>; alias: Record<string, string[]> };
    }
  ).getOptions?.();
  const known = new Set(Object.keys(options?.key ?? {}));
  for (const [key, aliases] of Object.entries(options?.alias ?? {}))
    for (const name of [key, ...aliases]) known.add(name);
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end))
    .filter((a) => a.startsWith('-') && a !== '-')
    .map((a) => a.replace(/^--?/, '').split('=')[0]!)
    .filter((name) => !known.has(name) && !known.has(name.replace(/^no-/, '')));
}

/** Every long flag the command in context knows, as typed (kebab-case). */
function flagNames(yargs: Argv): string[] {
  const options = (
    yargs as unknown as { getOptions?: () => { key: Record<string, unknown> } }
  ).getOptions?.();
  return Object.keys(options?.key ?? {}).filter((k) => k.length > 1 && !/[A-Z$]/.test(k));
}

/** The known name nearest to `typed`, if it is near enough to be a typo. */
export function nearest(typed: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const best = closest(typed, [...known]);
  return distance(typed, best) <= Math.max(2, Math.floor(typed.length / 3)) ? best : undefined;
}

function usageError(
  bin: string,
  argv: readonly string[],
  message: string,
  known: { command: string | undefined; flags: string[]; commands: readonly string[] },
): UsageError {
  const helpFor = known.command === undefined ? bin : `${bin} ${known.command}`;
  const unknown = /^Unknown arguments?: (.*)$/.exec(message);
  if (unknown === null)
    return new UsageError(
      'USAGE',
      `${message.replace(/\.$/, '')}. Run \`${helpFor} --help\` for usage.`,
    );
  const names = unknown[1]!.split(', ');
  const problems = names.map((name) => {
    const flag = argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`))
      ? `--${name}`
      : argv.includes(`-${name}`)
        ? `-${name}`
        : undefined;
    if (flag !== undefined) {
      const near = nearest(name, known.flags);
      return `unknown option ${flag}${near === undefined ? '' : ` (did you mean --${near}?)`}`;
    }
    if (known.command === undefined && known.commands.length > 0) {
      const near = nearest(name, known.commands);
      return `unknown command "${name}"${near === undefined ? '' : ` (did you mean \`${bin} ${near}\`?)`}`;
    }
    return `unexpected argument "${name}"`;
  });
  return new UsageError('USAGE', `${problems.join('; ')}. Run \`${helpFor} --help\` for usage.`, {
    data: { unknown: names },
  });
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
