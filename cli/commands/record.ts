// Declarations of record-failure and record-heuristic: flags only, handlers load lazily.

import type { Argv } from 'yargs';
import { InvalidInputError } from '../../src/errors/index.js';
import type { Command, GlobalArgs } from '../output.js';

export interface RecordFailureArgs extends GlobalArgs {
  readonly title?: string;
  readonly domain?: string;
  readonly severity?: string;
  readonly summary?: string;
  readonly whatHappened?: string;
  readonly rootCause?: string;
  readonly impact?: string;
  readonly prevention?: string;
  readonly tags?: string;
  readonly bodyFile?: string;
  readonly allowSecret?: string;
}

export interface RecordHeuristicArgs extends GlobalArgs {
  readonly rule?: string;
  readonly domain?: string;
  readonly explanation?: string;
  readonly source?: string;
  readonly confidence?: string;
  readonly sourceId?: string;
  readonly tags?: string;
  readonly bodyFile?: string;
  readonly allowSecret?: string;
}

/** The flags of record-failure (all take a string): yargs and the fast path read this table. */
export const FAILURE_FLAGS = {
  title: 'What went wrong, one line (env FAILURE_TITLE)',
  domain: 'Area of work, [a-z0-9_-] (env FAILURE_DOMAIN)',
  severity: '1-5 or low|medium|high|critical (default medium)',
  summary: 'A short account of the failure',
  'what-happened': 'Section "What Happened"',
  'root-cause': 'Section "Root Cause"',
  impact: 'Section "Impact"',
  prevention: 'Section "Prevention"',
  tags: 'Comma-separated tags',
  'body-file': 'Markdown to append; "-" reads stdin',
  'allow-secret': 'Store matches of this secret rule anyway (repeatable; see docs/secrets.md)',
} as const;

/** The flags of record-heuristic (all take a string). */
export const HEURISTIC_FLAGS = {
  rule: 'The rule, one line (env HEURISTIC_RULE)',
  domain: 'Area of work, [a-z0-9_-] (env HEURISTIC_DOMAIN)',
  explanation: 'Why the rule holds',
  source: 'failure|success|observation|debugging (default observation)',
  confidence: '0..1 or low|medium|high (default 0.7)',
  'source-id': 'Id of the failure this rule came from',
  tags: 'Comma-separated tags',
  'body-file': 'Markdown to append; "-" reads stdin',
  'allow-secret': 'Store matches of this secret rule anyway (repeatable; see docs/secrets.md)',
} as const;

/** `--tags` and `--allow-secret` may be repeated (the lists are joined); any other flag given twice is an error. */
function once(name: string): (value: string | string[]) => string {
  return (value) => {
    if (!Array.isArray(value)) return value;
    if (name === 'tags' || name === 'allow-secret') return value.join(',');
    throw new InvalidInputError(
      `--${name}`,
      `is given ${value.length} times`,
      `Give --${name} once.`,
    );
  };
}

export function stringFlags<T>(yargs: Argv<T>, flags: Readonly<Record<string, string>>): Argv<T> {
  for (const [name, describe] of Object.entries(flags))
    yargs = yargs.option(name, { type: 'string', requiresArg: true, describe, coerce: once(name) });
  return yargs;
}

export function failureFlags<T>(yargs: Argv<T>): Argv<T> {
  return stringFlags(yargs, FAILURE_FLAGS).epilog(
    'Every option can also come from FAILURE_<NAME> in the environment, e.g. FAILURE_ROOT_CAUSE.',
  );
}

export function heuristicFlags<T>(yargs: Argv<T>): Argv<T> {
  return stringFlags(yargs, HEURISTIC_FLAGS).epilog(
    'Every option can also come from HEURISTIC_<NAME> in the environment, e.g. HEURISTIC_SOURCE_ID.',
  );
}

export const recordFailureCommand: Command<GlobalArgs, RecordFailureArgs> = {
  command: 'record-failure',
  describe: 'Record a failure: file, row and commit, all or nothing',
  builder: (yargs) => failureFlags(yargs),
  handler: async (argv) => (await import('../handlers/record.js')).recordFailure(argv),
};

export const recordHeuristicCommand: Command<GlobalArgs, RecordHeuristicArgs> = {
  command: 'record-heuristic',
  describe: 'Record a heuristic (a rule learnt), all or nothing',
  builder: (yargs) => heuristicFlags(yargs),
  handler: async (argv) => (await import('../handlers/record.js')).recordHeuristic(argv),
};
