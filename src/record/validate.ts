// Turns caller input into a normalised record, or throws InvalidInputError naming the field,
// the bad value and the fix. Pure: no I/O, so a rejected record has touched nothing. Ids come
// from ids.ts; the file's bytes from markdown.ts.

import { InvalidInputError } from '../errors/index.js';
import { clockId, idTime, newId } from './ids.js';
import { isReservedName } from './slug.js';
import {
  HEURISTIC_SOURCES,
  type FailureInput,
  type FailureRecord,
  type HeuristicInput,
  type HeuristicRecord,
  type HeuristicSource,
  type LessonRecord,
  type RecordInput,
} from './types.js';

export const LIMITS = {
  title: 500,
  domain: 100,
  text: 50_000,
  tags: 20,
  tag: 50,
} as const;

export const SEVERITY_WORDS: Readonly<Record<string, number>> = {
  low: 2,
  medium: 3,
  high: 4,
  critical: 5,
};
export const CONFIDENCE_WORDS: Readonly<Record<string, number>> = {
  low: 0.3,
  medium: 0.6,
  high: 0.85,
};
export const DEFAULT_SEVERITY = 3;
export const DEFAULT_CONFIDENCE = 0.7;
export const DEFAULT_SOURCE: HeuristicSource = 'observation';

// C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
const SINGLE_LINE_FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;
// Multi-line text may hold tabs and line breaks, nothing else below 0x20.
const MULTI_LINE_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/u;

function describe(value: string): string {
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return JSON.stringify(shown);
}

/** A value as a user would recognise it in a message. */
function shown(value: unknown): string {
  return typeof value === 'string'
    ? value
    : value instanceof Date
      ? value.toString()
      : (JSON.stringify(value) ?? String(value));
}

function codePoints(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

function requireString(field: string, value: unknown, fix: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new InvalidInputError(field, `must be text, got ${typeof value}`, fix);
  }
  if (!value.isWellFormed()) {
    throw new InvalidInputError(
      field,
      'is not valid Unicode (it holds a lone surrogate)',
      'Pass valid UTF-8 text.',
    );
  }
  if (value.includes('\u0000')) {
    throw new InvalidInputError(field, 'contains a NUL character', 'Remove the NUL (\\0) byte.');
  }
  return value;
}

export function singleLine(
  field: string,
  raw: unknown,
  max: number,
  required: boolean,
): string | undefined {
  const value = requireString(field, raw, `Give ${field} as one line of text.`)?.trim();
  if (value === undefined || value === '') {
    if (required)
      throw new InvalidInputError(
        field,
        'is required and must not be empty',
        `Pass --${kebab(field)} "<text>".`,
      );
    return undefined;
  }
  const bad = SINGLE_LINE_FORBIDDEN.exec(value);
  if (bad) {
    const what =
      bad[0] === '\n' || bad[0] === '\r'
        ? 'a line break'
        : `a control character (U+${bad[0].codePointAt(0)!.toString(16).padStart(4, '0').toUpperCase()})`;
    throw new InvalidInputError(
      field,
      `must be a single line but contains ${what}`,
      `Put longer text in the summary or body instead.`,
    );
  }
  const length = codePoints(value);
  if (length > max) {
    throw new InvalidInputError(
      field,
      `is ${length} characters, more than the limit of ${max}`,
      `Shorten it to at most ${max} characters.`,
      { length, limit: max },
    );
  }
  return value;
}

export function multiLine(field: string, raw: unknown): string | undefined {
  const value = requireString(field, raw, `Give ${field} as text.`);
  if (value === undefined || value.trim() === '') return undefined;
  const bad = MULTI_LINE_FORBIDDEN.exec(value);
  if (bad) {
    throw new InvalidInputError(
      field,
      `contains a control character (U+${bad[0].codePointAt(0)!.toString(16).padStart(4, '0').toUpperCase()})`,
      'Remove control characters; tabs and line breaks are fine.',
    );
  }
  const length = codePoints(value);
  if (length > LIMITS.text) {
    throw new InvalidInputError(
      field,
      `is ${length} characters, more than the limit of ${LIMITS.text}`,
      `Shorten it to at most ${LIMITS.text} characters.`,
      { length, limit: LIMITS.text },
    );
  }
  return value.replace(/\s+$/u, '');
}

function kebab(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function validateDomain(raw: unknown): string {
  const value = singleLine('domain', raw, Number.MAX_SAFE_INTEGER, true)!.toLowerCase();
  if (value.length > LIMITS.domain) {
    throw new InvalidInputError(
      'domain',
      `is ${value.length} characters, more than the limit of ${LIMITS.domain}`,
      `Shorten it to at most ${LIMITS.domain} characters.`,
    );
  }
  if (!/^[a-z0-9_-]+$/.test(value)) {
    throw new InvalidInputError(
      'domain',
      `${describe(value)} may only use a-z, 0-9, "_" and "-"`,
      'Use a plain name such as "database" or "ci-pipeline".',
    );
  }
  if (isReservedName(value)) {
    throw new InvalidInputError(
      'domain',
      `${describe(value)} is a reserved file name on Windows`,
      'Choose another domain name.',
    );
  }
  return value;
}

export function validateTags(raw: unknown): string[] {
  if (raw === undefined || raw === null) return [];
  let list: unknown[];
  if (typeof raw === 'string') list = raw.split(',');
  else if (Array.isArray(raw))
    list = (raw as unknown[]).flatMap((t) => (typeof t === 'string' ? t.split(',') : [t]));
  else
    throw new InvalidInputError(
      'tags',
      `must be a list or a comma-separated string, got ${typeof raw}`,
      'Pass --tags a,b,c.',
    );
  const tags: string[] = [];
  for (const item of list) {
    const tag = singleLine('tags', item, LIMITS.tag, false)?.toLowerCase();
    if (tag !== undefined && !tags.includes(tag)) tags.push(tag);
  }
  if (tags.length > LIMITS.tags) {
    throw new InvalidInputError(
      'tags',
      `has ${tags.length} tags, more than the limit of ${LIMITS.tags}`,
      `Keep at most ${LIMITS.tags} tags.`,
      { count: tags.length, limit: LIMITS.tags },
    );
  }
  return tags;
}

export function parseSeverity(raw: unknown): number {
  if (raw === undefined || raw === null || raw === '') return DEFAULT_SEVERITY;
  const word = typeof raw === 'string' ? raw.trim().toLowerCase() : raw;
  if (typeof word === 'string' && word in SEVERITY_WORDS) return SEVERITY_WORDS[word]!;
  const n =
    typeof word === 'number'
      ? word
      : typeof word === 'string' && /^\d+$/.test(word)
        ? Number(word)
        : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 5) {
    throw new InvalidInputError(
      'severity',
      `${describe(shown(raw))} is not a severity`,
      'Use 1-5 or one of low, medium, high, critical.',
    );
  }
  return n;
}

export function parseConfidence(raw: unknown): number {
  if (raw === undefined || raw === null || raw === '') return DEFAULT_CONFIDENCE;
  const word = typeof raw === 'string' ? raw.trim().toLowerCase() : raw;
  if (typeof word === 'string' && word in CONFIDENCE_WORDS) return CONFIDENCE_WORDS[word]!;
  const n =
    typeof word === 'number'
      ? word
      : typeof word === 'string' && /^(\d+(\.\d*)?|\.\d+)$/.test(word)
        ? Number(word)
        : NaN;
  if (!Number.isFinite(n) || n < 0 || n > 1) {
    throw new InvalidInputError(
      'confidence',
      `${describe(shown(raw))} is not a confidence`,
      'Use a number from 0 to 1 or one of low, medium, high.',
    );
  }
  // -0 passes the range check; it would be written as "-0" and read back from SQLite as 0.
  return n === 0 ? 0 : n;
}

function parseSource(raw: unknown): HeuristicSource {
  const value = singleLine('source', raw, 100, false)?.toLowerCase();
  if (value === undefined) return DEFAULT_SOURCE;
  if (!(HEURISTIC_SOURCES as readonly string[]).includes(value)) {
    throw new InvalidInputError(
      'source',
      `${describe(value)} is not a source`,
      `Use one of ${HEURISTIC_SOURCES.join(', ')}.`,
    );
  }
  return value as HeuristicSource;
}

function parseSourceId(raw: unknown): string | undefined {
  const value = singleLine('sourceId', raw, 26, false)?.toUpperCase();
  if (value === undefined) return undefined;
  // A full id or a prefix of one (as list prints): the store resolves it, under the writers'
  // lock, to the one failure it names (see Store.resolveSources).
  if (!/^[0-9A-HJKMNP-TV-Z]{1,26}$/.test(value)) {
    throw new InvalidInputError(
      'sourceId',
      `${describe(value)} is not a record id`,
      'Pass the id of a failure (or its first characters), as list and record-failure print it.',
    );
  }
  return value;
}

function parseCreated(raw: unknown): Date | undefined {
  if (raw === undefined || raw === null) return undefined;
  const date = raw instanceof Date ? raw : typeof raw === 'string' ? new Date(raw) : new Date(NaN);
  if (
    Number.isNaN(date.getTime()) ||
    date.getUTCFullYear() < 1970 ||
    date.getUTCFullYear() > 9999
  ) {
    throw new InvalidInputError(
      'created',
      `${describe(shown(raw))} is not a date`,
      'Use an ISO 8601 date such as 2026-11-22T21:04:05Z.',
    );
  }
  return date;
}

function parseImportedFrom(raw: unknown): Readonly<Record<string, unknown>> | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InvalidInputError(
      'importedFrom',
      'must be an object',
      'Pass an object such as { path: "failures/x.md" }.',
    );
  }
  return raw as Readonly<Record<string, unknown>>;
}

function section(heading: string, text: string | undefined): string {
  return text === undefined ? '' : `\n## ${heading}\n\n${text}\n`;
}

function renderBody(title: string, sections: string, body: string | undefined): string {
  return `# ${title}\n${sections}${body === undefined ? '' : `\n${body}\n`}`;
}

export function validateFailure(input: FailureInput, now = new Date()): FailureRecord {
  const title = singleLine('title', input.title, LIMITS.title, true)!;
  const domain = validateDomain(input.domain);
  const severity = parseSeverity(input.severity);
  const tags = validateTags(input.tags);
  const sections =
    section('Summary', multiLine('summary', input.summary)) +
    section('What Happened', multiLine('whatHappened', input.whatHappened)) +
    section('Root Cause', multiLine('rootCause', input.rootCause)) +
    section('Impact', multiLine('impact', input.impact)) +
    section('Prevention', multiLine('prevention', input.prevention));
  const body = renderBody(title, sections, multiLine('body', input.body));
  const given = parseCreated(input.created);
  const id = given === undefined ? clockId(now.getTime()) : newId(given.getTime());
  // `created` is the moment the id carries (ids from one process never go back in time).
  const created = given ?? new Date(idTime(id));
  const importedFrom = parseImportedFrom(input.importedFrom);
  return {
    kind: 'failure',
    id,
    title,
    domain,
    severity,
    tags,
    created: created.toISOString(),
    body,
    ...(importedFrom === undefined ? {} : { importedFrom }),
  };
}

export function validateHeuristic(input: HeuristicInput, now = new Date()): HeuristicRecord {
  const title = singleLine('rule', input.rule, LIMITS.title, true)!;
  const domain = validateDomain(input.domain);
  const source = parseSource(input.source);
  const confidence = parseConfidence(input.confidence);
  const sourceId = parseSourceId(input.sourceId);
  const tags = validateTags(input.tags);
  const sections = section('Explanation', multiLine('explanation', input.explanation));
  const body = renderBody(title, sections, multiLine('body', input.body));
  const given = parseCreated(input.created);
  const id = given === undefined ? clockId(now.getTime()) : newId(given.getTime());
  const created = given ?? new Date(idTime(id));
  const importedFrom = parseImportedFrom(input.importedFrom);
  return {
    kind: 'heuristic',
    id,
    title,
    domain,
    source,
    confidence,
    ...(sourceId === undefined ? {} : { sourceId }),
    tags,
    created: created.toISOString(),
    body,
    ...(importedFrom === undefined ? {} : { importedFrom }),
  };
}

export function validateRecord(input: RecordInput, now = new Date()): LessonRecord {
  if (input.kind === 'failure') return validateFailure(input, now);
  if (input.kind === 'heuristic') return validateHeuristic(input, now);
  throw new InvalidInputError(
    'kind',
    `${describe(String((input as { kind: unknown }).kind))} is not a record kind`,
    'Use "failure" or "heuristic".',
  );
}
