// The hot path of agent frameworks: record-failure and record-heuristic with plain flags are
// parsed by node:util's parseArgs from the same tables yargs is given, so a record does not pay
// for loading yargs (about a third of a cold start's CPU, which is what bounds 100 writers on
// two cores). Anything out of the ordinary (help, version, an unknown, repeated or misspelt
// flag, a value that looks like a flag, an operand) is left to yargs, which gives its full
// messages. `--` ends the options here as there: flags after it are operands, which a record
// command does not take.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { FAILURE_FLAGS, HEURISTIC_FLAGS } from './commands/record.js';
import { GLOBAL_OPTIONS, reportError } from './report.js';
import { writeDirectly } from './stdio.js';

export type RecordCommand = 'record-failure' | 'record-heuristic';

const COMMANDS: Record<RecordCommand, Readonly<Record<string, string>>> = {
  'record-failure': FAILURE_FLAGS,
  'record-heuristic': HEURISTIC_FLAGS,
};

type Options = NonNullable<ParseArgsConfig['options']>;

function optionsOf(flags: Readonly<Record<string, string>>): Options {
  const options: Options = {};
  for (const [name, spec] of Object.entries(GLOBAL_OPTIONS))
    options[name] = { type: spec.type === 'boolean' ? 'boolean' : 'string' };
  for (const name of Object.keys(flags)) options[name] = { type: 'string' };
  return options;
}

const camel = (flag: string): string =>
  flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * The parsed arguments of `command` when `argv` (its flags only) is plain enough to parse
 * without yargs; undefined otherwise.
 */
export function parseFast(
  command: RecordCommand,
  argv: readonly string[],
): Record<string, string | boolean> | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: optionsOf(COMMANDS[command]),
      strict: true,
      allowPositionals: false,
      tokens: true,
    });
  } catch {
    return undefined;
  }
  // Only options, each once, and perhaps `--` with nothing after it: operands and repeats
  // (arrays in yargs) go to yargs.
  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind !== 'option') return undefined;
    if (seen.has(token.name)) return undefined;
    seen.add(token.name);
  }
  const args: Record<string, string | boolean> = {};
  for (const [name, value] of Object.entries(parsed.values))
    if (typeof value === 'string' || typeof value === 'boolean') args[camel(name)] = value;
  return args;
}

/**
 * Where `lessons <argv>` is a record command with plain flags: the command and its flags.
 * Global flags may come before the command, as yargs allows.
 */
export function splitLessonsArgv(
  argv: readonly string[],
): { command: RecordCommand; flags: string[] } | undefined {
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('--') && argv[i] !== '--') {
    const name = argv[i]!.slice(2).split('=')[0]!;
    const spec = (GLOBAL_OPTIONS as Record<string, { type: string }>)[name];
    if (spec === undefined) return undefined;
    i += spec.type === 'string' && !argv[i]!.includes('=') ? 2 : 1;
  }
  const command = argv[i];
  if (command !== 'record-failure' && command !== 'record-heuristic') return undefined;
  return { command, flags: [...argv.slice(0, i), ...argv.slice(i + 1)] };
}

/**
 * Run a record command without yargs if its flags allow. Returns false, having done nothing,
 * when they do not; the caller then runs yargs.
 */
export async function runFast(
  bin: string,
  command: RecordCommand,
  flags: readonly string[],
  argv: readonly string[],
): Promise<boolean> {
  const args = parseFast(command, flags);
  if (args === undefined) return false;
  writeDirectly();
  try {
    const handlers = await import('./handlers/record.js');
    if (command === 'record-failure') await handlers.recordFailure(args);
    else await handlers.recordHeuristic(args);
  } catch (error) {
    process.exitCode = reportError(error, argv, bin);
  }
  return true;
}
