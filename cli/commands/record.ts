// Declarations of record-failure and record-heuristic: flags only, handlers load lazily.

import type { Argv, CommandModule } from 'yargs';
import type { GlobalArgs } from '../output.js';

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
}

const text = { type: 'string', requiresArg: true } as const;

export function failureFlags<T>(yargs: Argv<T>): Argv<T> {
  return yargs
    .option('title', { ...text, describe: 'What went wrong, one line (env FAILURE_TITLE)' })
    .option('domain', { ...text, describe: 'Area of work, [a-z0-9_-] (env FAILURE_DOMAIN)' })
    .option('severity', { ...text, describe: '1-5 or low|medium|high|critical (default medium)' })
    .option('summary', { ...text, describe: 'A short account of the failure' })
    .option('what-happened', { ...text, describe: 'Section "What Happened"' })
    .option('root-cause', { ...text, describe: 'Section "Root Cause"' })
    .option('impact', { ...text, describe: 'Section "Impact"' })
    .option('prevention', { ...text, describe: 'Section "Prevention"' })
    .option('tags', { ...text, describe: 'Comma-separated tags' })
    .option('body-file', { ...text, describe: 'Markdown to append; "-" reads stdin' })
    .epilog(
      'Every option can also come from FAILURE_<NAME> in the environment, e.g. FAILURE_ROOT_CAUSE.',
    );
}

export function heuristicFlags<T>(yargs: Argv<T>): Argv<T> {
  return yargs
    .option('rule', { ...text, describe: 'The rule, one line (env HEURISTIC_RULE)' })
    .option('domain', { ...text, describe: 'Area of work, [a-z0-9_-] (env HEURISTIC_DOMAIN)' })
    .option('explanation', { ...text, describe: 'Why the rule holds' })
    .option('source', {
      ...text,
      describe: 'failure|success|observation|debugging (default observation)',
    })
    .option('confidence', { ...text, describe: '0..1 or low|medium|high (default 0.7)' })
    .option('source-id', { ...text, describe: 'Id of the failure this rule came from' })
    .option('tags', { ...text, describe: 'Comma-separated tags' })
    .option('body-file', { ...text, describe: 'Markdown to append; "-" reads stdin' })
    .epilog(
      'Every option can also come from HEURISTIC_<NAME> in the environment, e.g. HEURISTIC_SOURCE_ID.',
    );
}

export const recordFailureCommand: CommandModule<GlobalArgs, RecordFailureArgs> = {
  command: 'record-failure',
  describe: 'Record a failure: file, row and commit, all or nothing',
  builder: (yargs) => failureFlags(yargs),
  handler: async (argv) => (await import('../handlers/record.js')).recordFailure(argv),
};

export const recordHeuristicCommand: CommandModule<GlobalArgs, RecordHeuristicArgs> = {
  command: 'record-heuristic',
  describe: 'Record a heuristic (a rule learnt), all or nothing',
  builder: (yargs) => heuristicFlags(yargs),
  handler: async (argv) => (await import('../handlers/record.js')).recordHeuristic(argv),
};
