// Lifecycle events: validate, violate, promote, demote, update, retire. Each is a file of its
// own under events/YYYY/MM/<id>-<verb>.md, never an edit of the record it targets, so two
// stores that change the same record at once merge without a conflict (docs/lifecycle.md).
// The front matter has a fixed schema written by a fixed renderer (one `key: value` line per
// field, in a fixed order, strings as JSON); parse() accepts exactly what render() writes.

import { RecordParseError } from '../errors/index.js';
import { hashObject, sha256 } from '../git/hash.js';
import { isUlid } from './ids.js';
import { FENCE, splitFrontMatter } from './front-matter.js';
import type { RenderedRecord } from './types.js';

export const EVENT_VERBS = [
  'validate',
  'violate',
  'promote',
  'demote',
  'update',
  'retire',
] as const;
export type EventVerb = (typeof EVENT_VERBS)[number];

/** The fields an update may correct (`rule` is a heuristic's title). */
export interface EventChanges {
  readonly title?: string;
  /** The text of the record's first section (Summary of a failure, Explanation of a heuristic). */
  readonly summary?: string;
  readonly tags?: readonly string[];
  readonly severity?: number;
  /** A heuristic's new prior (docs/lifecycle.md: the confidence from this point on). */
  readonly confidence?: number;
}

export interface LifecycleEvent {
  readonly kind: 'event';
  /** ULID of the event itself: the order of the fold. */
  readonly id: string;
  readonly verb: EventVerb;
  /** The id of the record it changes. */
  readonly target: string;
  /** ISO 8601 UTC with milliseconds. */
  readonly created: string;
  /** validate/violate: how many validations or violations this event stands for (an import). */
  readonly count?: number;
  /** validate/violate: what happened. */
  readonly note?: string;
  /** violate: the failure it caused. */
  readonly failure?: string;
  /** retire: why. */
  readonly reason?: string;
  /** retire: the record that replaces it. */
  readonly supersededBy?: string;
  /** update: the corrected fields. */
  readonly changes?: EventChanges;
  /** update: the record's new body (Markdown); '' when the body is not corrected. */
  readonly body: string;
}

/** Where an event lives in the store. */
export function eventPath(event: LifecycleEvent): string {
  return `events/${event.created.slice(0, 4)}/${event.created.slice(5, 7)}/${event.id}-${event.verb}.md`;
}

export function isEventPath(path: string): boolean {
  return path.startsWith('events/') && path.endsWith('.md');
}

/** The front matter lines, in their one order. */
function lines(e: LifecycleEvent): string[] {
  const out = [`id: ${e.id}`, `verb: ${e.verb}`, `target: ${e.target}`, `created: ${e.created}`];
  const put = (key: string, value: unknown): void => {
    if (value !== undefined) out.push(`${key}: ${JSON.stringify(value)}`);
  };
  put('count', e.count);
  put('note', e.note);
  if (e.failure !== undefined) out.push(`failure: ${e.failure}`);
  put('reason', e.reason);
  if (e.supersededBy !== undefined) out.push(`superseded_by: ${e.supersededBy}`);
  const c = e.changes;
  if (c !== undefined) {
    put('title', c.title);
    put('summary', c.summary);
    put('tags', c.tags);
    put('severity', c.severity);
    put('confidence', c.confidence);
  }
  return out;
}

export function renderEvent(event: LifecycleEvent): string {
  return `${FENCE}${lines(event).join('\n')}\n${FENCE}${event.body}`;
}

/** Render an event and compute what the participants need about its file. */
export function prepareEvent(event: LifecycleEvent): RenderedRecord {
  const content = Buffer.from(renderEvent(event), 'utf8');
  return {
    record: event,
    path: eventPath(event),
    content,
    blobOid: hashObject('blob', content),
    sha256: sha256(content),
  };
}

function fail(reason: string): never {
  throw new RecordParseError(`event: ${reason}`);
}

const KEYS = [
  'id',
  'verb',
  'target',
  'created',
  'count',
  'note',
  'failure',
  'reason',
  'superseded_by',
  'title',
  'summary',
  'tags',
  'severity',
  'confidence',
] as const;
type Key = (typeof KEYS)[number];

const BASE_KEYS: readonly Key[] = ['id', 'verb', 'target', 'created'];

/** The fields each verb may carry besides id, verb, target and created. */
const VERB_FIELDS: Readonly<Record<EventVerb, readonly Key[]>> = {
  validate: ['count', 'note'],
  violate: ['count', 'note', 'failure'],
  promote: [],
  demote: [],
  update: ['title', 'summary', 'tags', 'severity', 'confidence'],
  retire: ['reason', 'superseded_by'],
};

function json(key: string, raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    fail(`"${key}" is not a JSON value`);
  }
}

function text(key: string, raw: string): string {
  const value = json(key, raw);
  if (typeof value !== 'string') fail(`"${key}" is not text`);
  return value;
}

function ulid(key: string, raw: string): string {
  if (!isUlid(raw)) fail(`"${key}" ${JSON.stringify(raw)} is not a ULID`);
  return raw;
}

function int(key: string, raw: string, min: number, max: number): number {
  const value = json(key, raw);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    fail(`"${key}" is not an integer from ${min} to ${max}`);
  return value;
}

/** Parse an event file. Strict: anything render() would not have written is refused. */
export function parseEvent(content: string | Uint8Array): LifecycleEvent {
  const { text: source, front, body } = splitFrontMatter(content, fail);
  const raw = new Map<Key, string>();
  for (const line of front.slice(0, -1).split('\n')) {
    const colon = line.indexOf(': ');
    const key = line.slice(0, colon) as Key;
    if (colon < 0 || !KEYS.includes(key)) fail(`unexpected line ${JSON.stringify(line)}`);
    if (raw.has(key)) fail(`"${key}" appears twice`);
    raw.set(key, line.slice(colon + 2));
  }
  const need = (key: Key): string => raw.get(key) ?? fail(`"${key}" is missing`);
  const verb = need('verb') as EventVerb;
  if (!EVENT_VERBS.includes(verb)) fail(`"verb" ${JSON.stringify(verb)} is not a lifecycle verb`);
  const created = need('created');
  if (
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(created) ||
    Number.isNaN(Date.parse(created))
  )
    fail(`"created" ${JSON.stringify(created)} is not an ISO date`);
  const opt = <T>(key: Key, read: (key: string, raw: string) => T): T | undefined => {
    const value = raw.get(key);
    return value === undefined ? undefined : read(key, value);
  };
  const tags = opt('tags', (k, r) => {
    const value = json(k, r);
    if (!Array.isArray(value) || !value.every((t) => typeof t === 'string'))
      fail('"tags" is not a list of text');
    return value;
  });
  const confidence = opt('confidence', (k, r) => {
    const value = json(k, r);
    if (typeof value !== 'number' || !(value >= 0 && value <= 1))
      fail('"confidence" is not a number from 0 to 1');
    return value;
  });
  const changes: EventChanges = {
    ...present('title', opt('title', text)),
    ...present('summary', opt('summary', text)),
    ...present('tags', tags),
    ...present(
      'severity',
      opt('severity', (k, r) => int(k, r, 1, 5)),
    ),
    ...present('confidence', confidence),
  };
  const event: LifecycleEvent = {
    kind: 'event',
    id: ulid('id', need('id')),
    verb,
    target: ulid('target', need('target')),
    created,
    ...present(
      'count',
      opt('count', (k, r) => int(k, r, 1, Number.MAX_SAFE_INTEGER)),
    ),
    ...present('note', opt('note', text)),
    ...present('failure', opt('failure', ulid)),
    ...present('reason', opt('reason', text)),
    ...present('supersededBy', opt('superseded_by', ulid)),
    ...(Object.keys(changes).length === 0 ? {} : { changes }),
    body,
  };
  const allowed = VERB_FIELDS[verb];
  for (const key of raw.keys())
    if (!BASE_KEYS.includes(key) && !allowed.includes(key))
      fail(`"${key}" does not belong to a ${verb} event`);
  if (event.body !== '' && verb !== 'update') fail(`a ${verb} event has no body`);
  // One spelling only: what does not render back to the same bytes was not written by lessons.
  if (renderEvent(event) !== source)
    fail('the front matter is not in the order and form lessons writes');
  return event;
}

function present<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
