// A record's current state: the fold of its lifecycle events, in ULID order, over the record
// as its file holds it. Pure: the same record and events give the same state on every machine,
// whatever order the events arrived in. The formula and the threshold are in docs/lifecycle.md.

import type { LifecycleEvent } from './event.js';
import type { LessonRecord } from './types.js';

/** How many observations the prior counts for. */
export const PRIOR_WEIGHT = 2;
/** The prior of a record that has none (a failure never has one; a heuristic always does). */
export const DEFAULT_PRIOR = 0.5;
/** Golden by the formula: all three hold. */
export const GOLDEN = { confidence: 0.8, validations: 5, share: 0.8 } as const;

export interface FoldedState {
  /** The record with every correction applied (title, tags, severity, body, prior). */
  readonly record: LessonRecord;
  /** Heuristics: the Beta posterior mean; failures: null. */
  readonly confidence: number | null;
  readonly validations: number;
  readonly violations: number;
  readonly golden: boolean;
  readonly retired: boolean;
  readonly retiredReason: string | null;
  readonly supersededBy: string | null;
}

/**
 * Beta posterior mean from a prior `p` counted as PRIOR_WEIGHT observations, after `v`
 * validations and `x` violations.
 */
export function posterior(p: number, v: number, x: number): number {
  return (PRIOR_WEIGHT * p + v) / (PRIOR_WEIGHT + v + x);
}

/** Golden by the formula alone (promote/demote aside). */
export function goldenByFormula(confidence: number, v: number, x: number): boolean {
  return confidence >= GOLDEN.confidence && v >= GOLDEN.validations && v / (v + x) >= GOLDEN.share;
}

/** The body with its first section (Summary / Explanation) set to `summary`. */
export function withSummary(record: LessonRecord, body: string, summary: string): string {
  const heading = record.kind === 'failure' ? 'Summary' : 'Explanation';
  const section = `\n## ${heading}\n\n${summary}\n`;
  const start = body.indexOf(`\n## ${heading}\n`);
  if (start >= 0) {
    const next = body.indexOf('\n## ', start + 1);
    // Sections are separated by a blank line: keep the one before the next heading.
    return body.slice(0, start) + section + (next < 0 ? '' : body.slice(next));
  }
  const firstLine = body.indexOf('\n');
  if (body.startsWith('# ') && firstLine >= 0)
    return body.slice(0, firstLine + 1) + section + body.slice(firstLine + 1);
  return `${section.slice(1)}${body}`;
}

/** The body with its `# <title>` heading renamed, when it starts with the old one. */
function retitled(body: string, from: string, to: string): string {
  return body.startsWith(`# ${from}\n`) ? `# ${to}\n${body.slice(from.length + 3)}` : body;
}

function byId(a: LifecycleEvent, b: LifecycleEvent): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Fold `events` (those targeting `base`, any order) over `base`. */
export function foldRecord(base: LessonRecord, events: readonly LifecycleEvent[]): FoldedState {
  let record = base;
  let prior = base.kind === 'heuristic' ? base.confidence : DEFAULT_PRIOR;
  // Evidence since the prior was last set, and in all.
  let v = 0;
  let x = 0;
  let validations = 0;
  let violations = 0;
  let manual: 'promote' | 'demote' | undefined;
  let retiredReason: string | null = null;
  let supersededBy: string | null = null;
  let retired = false;
  for (const event of [...events].sort(byId)) {
    switch (event.verb) {
      case 'validate':
        v += event.count ?? 1;
        validations += event.count ?? 1;
        break;
      case 'violate':
        x += event.count ?? 1;
        violations += event.count ?? 1;
        break;
      case 'promote':
      case 'demote':
        manual = event.verb;
        break;
      case 'retire':
        retired = true;
        retiredReason = event.reason ?? null;
        supersededBy = event.supersededBy ?? null;
        break;
      case 'update':
        record = corrected(record, event);
        if (event.changes?.confidence !== undefined) {
          // A person's judgement absorbs the evidence so far: from here it is the prior.
          prior = event.changes.confidence;
          v = 0;
          x = 0;
        }
        break;
    }
  }
  if (record.kind !== 'heuristic')
    return {
      record,
      confidence: null,
      validations,
      violations,
      golden: false,
      retired,
      retiredReason,
      supersededBy,
    };
  const confidence = posterior(prior, v, x);
  const golden =
    !retired &&
    (manual === undefined
      ? goldenByFormula(confidence, validations, violations)
      : manual === 'promote');
  return {
    record: { ...record, confidence },
    confidence,
    validations,
    violations,
    golden,
    retired,
    retiredReason,
    supersededBy,
  };
}

/** One update applied to a record. */
function corrected(record: LessonRecord, event: LifecycleEvent): LessonRecord {
  const c = event.changes ?? {};
  let body = event.body === '' ? record.body : event.body;
  const title = c.title ?? record.title;
  if (c.title !== undefined) body = retitled(body, record.title, title);
  if (c.summary !== undefined) body = withSummary(record, body, c.summary);
  const tags = c.tags ?? record.tags;
  if (record.kind === 'failure')
    return { ...record, title, tags, body, severity: c.severity ?? record.severity };
  return { ...record, title, tags, body, confidence: c.confidence ?? record.confidence };
}
