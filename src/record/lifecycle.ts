// Caller input to lifecycle events: validated and scanned for secrets with the limits and
// rules of recording, rendered with no I/O, so that a refusal (exit 2) touches nothing. The
// target is already resolved (the store facade looks it up): here only its id and kind matter.

import { InvalidInputError, SecretDetectedError } from '../errors/index.js';
import type { SecretFinding } from '../errors/SecretDetectedError.js';
import type { EventChanges, EventVerb, LifecycleEvent } from './event.js';
import { clockId, idTime } from './ids.js';
import { ruleName, scanGroups, secretRuleNames } from './secrets.js';
import { goldenByFormula, posterior } from './fold.js';
import type { LessonRecord, RecordKind } from './types.js';
import {
  LIMITS,
  multiLine,
  parseConfidence,
  parseSeverity,
  singleLine,
  validateTags,
} from './validate.js';

/** validate / violate. */
export interface EvidenceInput {
  /** What happened, one line. At most 500 characters. */
  readonly note?: string | undefined;
  /** How many validations (violations) the event stands for. @default 1 */
  readonly count?: number | undefined;
}

/** What `update` may correct; at least one field. */
export interface UpdateInput {
  /** A failure's title. 1..500 characters. */
  readonly title?: string | undefined;
  /** A heuristic's rule (its title). 1..500 characters. */
  readonly rule?: string | undefined;
  /** The first section: a failure's Summary, a heuristic's Explanation. */
  readonly summary?: string | undefined;
  readonly tags?: readonly string[] | string | undefined;
  /** A failure's severity: 1-5 or low, medium, high, critical. */
  readonly severity?: number | string | undefined;
  /** A heuristic's confidence from now on: 0..1 or low, medium, high. */
  readonly confidence?: number | string | undefined;
  /** The record's whole new body (Markdown). At most 50,000 characters. */
  readonly body?: string | undefined;
  /** Secret rules whose matches in this update are not secrets. @default [] */
  readonly allowSecrets?: readonly string[] | undefined;
}

export interface RetireInput {
  /** Why, one line. At most 500 characters. */
  readonly reason?: string | undefined;
}

/** Heuristics only: validate, violate, promote, demote. */
export function requireHeuristic(verb: EventVerb, kind: RecordKind, ref: string): void {
  if (kind !== 'heuristic')
    throw new InvalidInputError(
      'ref',
      `${JSON.stringify(ref)} is a ${kind}; only heuristics can be ${verb}d`,
      'Pass the id of a heuristic (`lessons list --kind heuristic` shows them).',
    );
}

function count(raw: unknown): number | undefined {
  if (raw === undefined || raw === 1) return undefined;
  if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < 1)
    throw new InvalidInputError(
      'count',
      `${JSON.stringify(raw)} is not a whole number >= 1`,
      'Pass 1 or more.',
    );
  return raw;
}

/** A new event at the writer's clock (the id is moved after the store's newest under the lock). */
function stamp(now: Date): { id: string; created: string } {
  const id = clockId(now.getTime());
  return { id, created: new Date(idTime(id)).toISOString() };
}

function note(field: string, raw: unknown): string | undefined {
  return singleLine(field, raw, LIMITS.title, false);
}

export function evidenceEvent(
  verb: 'validate' | 'violate',
  target: string,
  input: EvidenceInput & { readonly failure?: string | undefined },
  now: Date,
): LifecycleEvent {
  const n = note('note', input.note);
  const c = count(input.count);
  return {
    kind: 'event',
    ...stamp(now),
    verb,
    target,
    ...(c === undefined ? {} : { count: c }),
    ...(n === undefined ? {} : { note: n }),
    ...(input.failure === undefined ? {} : { failure: input.failure }),
    body: '',
  };
}

export function verdictEvent(
  verb: 'promote' | 'demote',
  target: string,
  now: Date,
): LifecycleEvent {
  return { kind: 'event', ...stamp(now), verb, target, body: '' };
}

export function retireEvent(
  target: string,
  input: RetireInput & { readonly supersededBy?: string | undefined },
  now: Date,
): LifecycleEvent {
  const reason = note('reason', input.reason);
  return {
    kind: 'event',
    ...stamp(now),
    verb: 'retire',
    target,
    ...(reason === undefined ? {} : { reason }),
    ...(input.supersededBy === undefined ? {} : { supersededBy: input.supersededBy }),
    body: '',
  };
}

/** An update of the record `target` of `kind`; the fields are checked as recording checks them. */
export function updateEvent(
  target: string,
  kind: RecordKind,
  input: UpdateInput,
  now: Date,
): LifecycleEvent {
  const wrong = (field: string, fix: string): never => {
    throw new InvalidInputError(field, `does not apply to a ${kind}`, fix);
  };
  if (kind === 'failure' && input.rule !== undefined) wrong('rule', 'Use --title for a failure.');
  if (kind === 'failure' && input.confidence !== undefined)
    wrong('confidence', 'Only heuristics have a confidence.');
  if (kind === 'heuristic' && input.title !== undefined)
    wrong('title', 'Use --rule for a heuristic.');
  if (kind === 'heuristic' && input.severity !== undefined)
    wrong('severity', 'Only failures have a severity.');
  const titleField = kind === 'failure' ? 'title' : 'rule';
  const rawTitle = kind === 'failure' ? input.title : input.rule;
  const title =
    rawTitle === undefined ? undefined : singleLine(titleField, rawTitle, LIMITS.title, true);
  const summary = input.summary === undefined ? undefined : multiLine('summary', input.summary);
  const body = input.body === undefined ? undefined : multiLine('body', input.body);
  if (input.body !== undefined && body === undefined)
    throw new InvalidInputError('body', 'is empty', 'Give the new body, or leave --body-file out.');
  if (input.summary !== undefined && summary === undefined)
    throw new InvalidInputError(
      'summary',
      'is empty',
      'Give the new summary, or leave --summary out.',
    );
  const changes: EventChanges = {
    ...(title === undefined ? {} : { title }),
    ...(summary === undefined ? {} : { summary }),
    ...(input.tags === undefined ? {} : { tags: validateTags(input.tags) }),
    ...(input.severity === undefined ? {} : { severity: parseSeverity(input.severity) }),
    ...(input.confidence === undefined ? {} : { confidence: parseConfidence(input.confidence) }),
  };
  if (Object.keys(changes).length === 0 && body === undefined)
    throw new InvalidInputError(
      'update',
      'names no field to change',
      `Pass at least one of --${titleField}, --summary, --tags, ${kind === 'failure' ? '--severity' : '--confidence'}, --body-file.`,
    );
  return {
    kind: 'event',
    ...stamp(now),
    verb: 'update',
    target,
    ...(Object.keys(changes).length === 0 ? {} : { changes }),
    body: body === undefined ? '' : `${body}\n`,
  };
}

/** The text an event carries, by the names a person gives its fields: what is scanned for secrets. */
export function eventFields(event: LifecycleEvent): { field: string; text: string }[] {
  const fields: { field: string; text: string }[] = [];
  const add = (field: string, text: string | undefined): void => {
    if (text !== undefined && text !== '') fields.push({ field, text });
  };
  add('note', event.note);
  add('reason', event.reason);
  add('title', event.changes?.title);
  add('summary', event.changes?.summary);
  add('tags', event.changes?.tags?.join(','));
  add('body', event.body);
  return fields;
}

/**
 * Refuse an event whose text holds a secret no rule in `allow` overrides (SECRET_DETECTED);
 * returns the rules that did override a match, for the commit trailer.
 */
export async function refuseEventSecrets(
  event: LifecycleEvent,
  allow: readonly string[] = [],
): Promise<string[]> {
  const names = allow.length === 0 ? [] : await secretRuleNames();
  for (const rule of allow)
    if (!names.includes(ruleName(rule)))
      throw new InvalidInputError(
        'allowSecrets',
        `${JSON.stringify(rule)} is not a secret rule`,
        `Use one of ${names.join(', ')}.`,
      );
  const fields = eventFields(event);
  if (fields.length === 0) return [];
  const [found] = await scanGroups([fields]);
  const allowed = new Set(allow.map(ruleName));
  const refused: SecretFinding[] = found!.filter((f) => !allowed.has(f.rule));
  if (refused.length > 0) throw new SecretDetectedError(refused);
  return [...new Set(found!.filter((f) => allowed.has(f.rule)).map((f) => f.rule))];
}

/** A record's lifecycle as another tool kept it (an import): carried over as events. */
export interface ImportedLifecycle {
  readonly validations: number;
  readonly violations: number;
  readonly golden: boolean;
  /** The source's confidence, which the folded confidence must equal. */
  readonly confidence?: number | undefined;
}

/**
 * The events that make a freshly imported heuristic fold to `source`'s state: one validate and
 * one violate event carrying the counts; an update setting the prior to the source's
 * confidence when the formula would give another; a promote or demote when the formula's
 * golden differs from the source's (docs/lifecycle.md, "Imports").
 */
export function importEvents(
  record: LessonRecord,
  source: ImportedLifecycle,
  now: Date,
): LifecycleEvent[] {
  if (record.kind !== 'heuristic') return [];
  const events: LifecycleEvent[] = [];
  const v = Math.max(0, Math.floor(source.validations));
  const x = Math.max(0, Math.floor(source.violations));
  if (v > 0) events.push(evidenceEvent('validate', record.id, { count: v }, now));
  if (x > 0) events.push(evidenceEvent('violate', record.id, { count: x }, now));
  let confidence = posterior(record.confidence, v, x);
  const wanted = source.confidence;
  if (wanted !== undefined && wanted >= 0 && wanted <= 1 && wanted !== confidence) {
    events.push({
      kind: 'event',
      ...stamp(now),
      verb: 'update',
      target: record.id,
      changes: { confidence: wanted },
      body: '',
    });
    confidence = wanted;
  }
  if (goldenByFormula(confidence, v, x) !== source.golden)
    events.push(verdictEvent(source.golden ? 'promote' : 'demote', record.id, now));
  return events;
}
