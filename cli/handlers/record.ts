// record-failure and record-heuristic: flags (or environment) to input, one transaction.

import type { RecordResult } from '../../src/record/types.js';
import type { RecordFailureArgs, RecordHeuristicArgs } from '../commands/record.js';
import { Output } from '../output.js';
import { fromEnv, readBodyFile, storeFrom } from './common.js';

/** A comma-separated flag as a list (repeats arrive joined). */
function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function report(out: Output, result: RecordResult): void {
  out.result(
    result,
    () =>
      `Recorded ${result.kind} ${result.id} (rowid ${result.rowid})\n  file:   ${result.path}\n  commit: ${result.commit}`,
  );
}

export async function recordFailure(args: RecordFailureArgs): Promise<void> {
  const out = new Output(args);
  const env = (value: string | undefined, name: string): string | undefined =>
    fromEnv(value, 'FAILURE', name);
  const bodyFile = env(args.bodyFile, 'BODY_FILE');
  const input = {
    title: env(args.title, 'TITLE') ?? '',
    domain: env(args.domain, 'DOMAIN') ?? '',
    severity: env(args.severity, 'SEVERITY'),
    summary: env(args.summary, 'SUMMARY'),
    whatHappened: env(args.whatHappened, 'WHAT_HAPPENED'),
    rootCause: env(args.rootCause, 'ROOT_CAUSE'),
    impact: env(args.impact, 'IMPACT'),
    prevention: env(args.prevention, 'PREVENTION'),
    tags: env(args.tags, 'TAGS'),
    body: readBodyFile('--body-file', bodyFile),
    allowSecrets: list(env(args.allowSecret, 'ALLOW_SECRET')),
  };
  const store = await storeFrom(args);
  try {
    report(out, await store.recordFailure(input));
  } finally {
    await store.close();
  }
}

export async function recordHeuristic(args: RecordHeuristicArgs): Promise<void> {
  const out = new Output(args);
  const env = (value: string | undefined, name: string): string | undefined =>
    fromEnv(value, 'HEURISTIC', name);
  const input = {
    rule: env(args.rule, 'RULE') ?? '',
    domain: env(args.domain, 'DOMAIN') ?? '',
    explanation: env(args.explanation, 'EXPLANATION'),
    source: env(args.source, 'SOURCE'),
    confidence: env(args.confidence, 'CONFIDENCE'),
    sourceId: env(args.sourceId, 'SOURCE_ID'),
    tags: env(args.tags, 'TAGS'),
    body: readBodyFile('--body-file', env(args.bodyFile, 'BODY_FILE')),
    allowSecrets: list(env(args.allowSecret, 'ALLOW_SECRET')),
  };
  const store = await storeFrom(args);
  try {
    report(out, await store.recordHeuristic(input));
  } finally {
    await store.close();
  }
}
