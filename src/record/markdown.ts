// A record on disk: YAML front matter holding every indexed field, then the Markdown body.
// render() and parse() are exact inverses for every record validate() can produce.
// The front matter's schema is fixed (a handful of keys, text, numbers, a list of tags and the
// imported_from mapping), so it is rendered here, without a YAML library: a text value is
// written plain where that is unambiguous in YAML 1.2, else double-quoted with JSON's escapes
// (a YAML double-quoted scalar accepts them); imported_from is JSON, a YAML flow mapping.
// test/record/properties.ts holds every accepted record equal to what both js-yaml and `yaml`
// read back. Rendering was `yaml`'s Document API before: about 60 µs a record, a sixth of
// recordMany, and 115 kB of the record path's bundle. Parsing reads a front matter exactly as
// the renderer writes it without any YAML library (ownFront), and gives anything else (a
// person's edit) to js-yaml, about ten times faster than `yaml`; js-yaml's own core schema
// resolves more plain scalars than YAML 1.2's (0b101, +0x1, 1_0.5 are numbers to it), so it
// parses with CORE_1_2 below: exactly the 1.2 core schema.

import jsyaml from 'js-yaml';
import { RecordParseError } from '../errors/index.js';
import { hashObject, sha256 } from '../git/hash.js';
import { recordPath } from './paths.js';
import {
  HEURISTIC_SOURCES,
  type HeuristicSource,
  type LessonRecord,
  type RenderedRecord,
} from './types.js';
import { validateDomain } from './validate.js';
import { isUlid } from './ids.js';
import { FENCE, splitFrontMatter } from './front-matter.js';

/**
 * Text YAML reads back as this same string when written plain: it starts with a letter, digit
 * or underscore, holds no indicator that could end or change it (`:` `#` `,` brackets, quotes),
 * no control, line-break or non-printable character, does not end in a space, and is not a
 * null, boolean or number of the 1.2 core schema.
 */
const PLAIN =
  /^[\p{L}\p{N}_](?:[^\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff:#,[\]{}'"\\]*[^\s\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff:#,[\]{}'"\\])?$/u;
const CORE_SCALAR =
  /^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
/** An ISO 8601 UTC time: plain (its colons are followed by digits, never by a space). */
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$/;
/** What JSON leaves raw but a YAML stream may not hold, or js-yaml refuses. */
const UNPRINTABLE = /[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]/g;

/** JSON with what YAML may not hold raw escaped as \\uXXXX (JSON and YAML read it alike). */
const yamlSafeJson = (value: unknown): string =>
  JSON.stringify(value).replace(
    UNPRINTABLE,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );

/** A text value: plain when unambiguous, else a double-quoted scalar with JSON's escapes. */
function scalar(text: string): string {
  if (PLAIN.test(text) && !CORE_SCALAR.test(text)) return text;
  return yamlSafeJson(text);
}

/** A number as the core schema reads it back (String() drops the sign of -0). */
const number = (n: number): string => (Object.is(n, -0) ? '-0' : String(n));

export function renderRecord(record: LessonRecord): string {
  const lines = [
    `id: ${scalar(record.id)}`,
    `kind: ${record.kind}`,
    `title: ${scalar(record.title)}`,
    `domain: ${scalar(record.domain)}`,
  ];
  if (record.kind === 'failure') lines.push(`severity: ${number(record.severity)}`);
  else {
    lines.push(`source: ${scalar(record.source)}`, `confidence: ${number(record.confidence)}`);
    if (record.sourceId !== undefined) lines.push(`source_id: ${scalar(record.sourceId)}`);
  }
  lines.push(
    `tags: [${record.tags.map(scalar).join(', ')}]`,
    `created: ${ISO_TIME.test(record.created) ? record.created : scalar(record.created)}`,
  );
  if (record.importedFrom !== undefined)
    lines.push(`imported_from: ${yamlSafeJson(record.importedFrom)}`);
  return `${FENCE}${lines.join('\n')}\n${FENCE}${record.body}`;
}

/** Render a record and compute everything the participants need about its file. */
export function prepareRecord(record: LessonRecord): RenderedRecord {
  const content = Buffer.from(renderRecord(record), 'utf8');
  return {
    record,
    path: recordPath(record),
    content,
    blobOid: hashObject('blob', content),
    sha256: sha256(content),
  };
}

function fail(reason: string): never {
  throw new RecordParseError(reason);
}

function str(fm: Record<string, unknown>, key: string): string {
  const value = fm[key];
  if (typeof value !== 'string' || value === '')
    fail(`front matter field "${key}" is missing or not text`);
  return value;
}

/** A YAML 1.2 core-schema scalar type for js-yaml: `pattern` decides, `construct` converts. */
function coreType(tag: string, pattern: RegExp, construct: (text: string) => unknown): jsyaml.Type {
  return new jsyaml.Type(`tag:yaml.org,2002:${tag}`, {
    kind: 'scalar',
    resolve: (text: unknown) => typeof text === 'string' && pattern.test(text),
    construct: (text: string) => construct(text),
  });
}

/** YAML 1.2 core schema (null, bool, int, float), as `yaml` reads and writes it. */
const CORE_1_2 = jsyaml.FAILSAFE_SCHEMA.extend({
  implicit: [
    coreType('null', /^(?:~|null|Null|NULL|)$/, () => null),
    coreType('bool', /^(?:true|True|TRUE|false|False|FALSE)$/, (t) => /^t/i.test(t)),
    coreType('int', /^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$/, (t) =>
      t.startsWith('0o')
        ? parseInt(t.slice(2), 8)
        : t.startsWith('0x')
          ? parseInt(t.slice(2), 16)
          : parseInt(t, 10),
    ),
    coreType(
      'float',
      /^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
      (t) =>
        /nan$/i.test(t)
          ? NaN
          : /inf$/i.test(t)
            ? t.startsWith('-')
              ? -Infinity
              : Infinity
            : Number(t),
    ),
  ],
});

/** The front matter as YAML 1.2 (core schema) reads it, by js-yaml. */
export function yamlFront(front: string): unknown {
  return jsyaml.load(front, { schema: CORE_1_2 });
}

/** A text value in the one form scalar() writes it, or undefined. */
function ownText(raw: string): string | undefined {
  if (raw.charCodeAt(0) !== 0x22 /* " */) {
    // js-yaml refuses a lone surrogate written raw (validate() refuses one in any input).
    return PLAIN.test(raw) && !CORE_SCALAR.test(raw) && raw.isWellFormed() ? raw : undefined;
  }
  if (SIMPLE_QUOTED.test(raw)) {
    // No escape and nothing JSON or YAML would escape: the text is what lies between the
    // quotes, written quoted because it could not be plain.
    const value = raw.slice(1, -1);
    return PLAIN.test(value) && !CORE_SCALAR.test(value) ? undefined : value;
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  return typeof value === 'string' && scalar(value) === raw ? value : undefined;
}

/** A double-quoted scalar with no escape and no character scalar() would escape. */
const SIMPLE_QUOTED = /^"[^"\\\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\p{Cs}]*"$/u;

/** A number in the one form number() writes it (decimal, finite), or undefined. */
function ownNumber(raw: string): number | undefined {
  if (!/^-?[0-9]+(?:\.[0-9]+)?(?:e[-+][0-9]+)?$/.test(raw)) return undefined;
  const value = Number(raw);
  return number(value) === raw ? value : undefined;
}

/** A tag list in the one form renderRecord writes it, or undefined. */
function ownTags(raw: string): string[] | undefined {
  if (!raw.startsWith('[') || !raw.endsWith(']')) return undefined;
  const tags: string[] = [];
  const inner = raw.slice(1, -1);
  let at = 0;
  while (at < inner.length) {
    if (at > 0) {
      if (!inner.startsWith(', ', at)) return undefined;
      at += 2;
    }
    let end: number;
    if (inner.charCodeAt(at) === 0x22) {
      // A double-quoted item ends at the first quote no backslash escapes.
      end = at + 1;
      while (end < inner.length && inner.charCodeAt(end) !== 0x22)
        end += inner.charCodeAt(end) === 0x5c /* \ */ ? 2 : 1;
      end += 1;
    } else {
      end = inner.indexOf(',', at);
      if (end < 0) end = inner.length;
    }
    const tag = ownText(inner.slice(at, end));
    if (tag === undefined) return undefined;
    tags.push(tag);
    at = end;
  }
  return tags;
}

/** imported_from as renderRecord writes it: one JSON object, or undefined. */
function ownMapping(raw: string): Record<string, unknown> | undefined {
  if (!raw.startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return yamlSafeJson(value) === raw ? (value as Record<string, unknown>) : undefined;
}

const OWN_FIELDS: Readonly<Record<string, (raw: string) => unknown>> = {
  id: ownText,
  kind: (raw) => (raw === 'failure' || raw === 'heuristic' ? raw : undefined),
  title: ownText,
  domain: ownText,
  severity: ownNumber,
  source: ownText,
  confidence: ownNumber,
  source_id: ownText,
  tags: ownTags,
  created: (raw) => (ISO_TIME.test(raw) ? raw : ownText(raw)),
  imported_from: ownMapping,
};

/**
 * The front matter read without a YAML parser when it is exactly as renderRecord writes it:
 * one `key: value` line for each known key, at most once, each value in the one form the
 * renderer gives it. Anything else (a person's edit, a comment, another quoting, an unknown
 * key) is undefined, and js-yaml reads it. test/record/front-fast.test.ts holds what this
 * returns equal to js-yaml's reading, over rendered records and random edits of them. About
 * ten times faster than js-yaml, which was an eighth of a reindex.
 */
export function ownFront(front: string): Record<string, unknown> | undefined {
  const fields: Record<string, unknown> = {};
  let at = 0;
  while (at < front.length) {
    const end = front.indexOf('\n', at);
    if (end < 0) return undefined;
    const colon = front.indexOf(': ', at);
    if (colon < 0 || colon > end) return undefined;
    const key = front.slice(at, colon);
    const read = Object.hasOwn(OWN_FIELDS, key) ? OWN_FIELDS[key] : undefined;
    if (read === undefined || Object.hasOwn(fields, key)) return undefined;
    const value = read(front.slice(colon + 2, end));
    if (value === undefined) return undefined;
    fields[key] = value;
    at = end + 1;
  }
  return at === 0 ? undefined : fields;
}

/** Parse a record file. Throws RecordParseError when the file is not one this tool wrote. */
export function parseRecord(content: string | Uint8Array): LessonRecord {
  const { front, body } = splitFrontMatter(content, fail);
  let fm: unknown = ownFront(front);
  if (fm === undefined) {
    try {
      fm = yamlFront(front);
    } catch (error) {
      fail(`the front matter is not valid YAML (${(error as Error).message.split('\n')[0]})`);
    }
  }
  if (typeof fm !== 'object' || fm === null || Array.isArray(fm))
    fail('the front matter is not a mapping');
  const fields = fm as Record<string, unknown>;

  const id = str(fields, 'id');
  if (!isUlid(id)) fail(`"id" ${JSON.stringify(id)} is not a ULID`);
  const title = str(fields, 'title');
  let domain: string;
  try {
    domain = validateDomain(fields.domain);
  } catch {
    fail(`"domain" ${JSON.stringify(fields.domain)} is not a valid domain`);
  }
  const created = str(fields, 'created');
  if (Number.isNaN(Date.parse(created))) fail(`"created" ${JSON.stringify(created)} is not a date`);
  const rawTags = fields.tags ?? [];
  if (!Array.isArray(rawTags) || !rawTags.every((t) => typeof t === 'string'))
    fail('"tags" is not a list of text');
  const tags = rawTags;
  const importedFrom = fields.imported_from;
  if (
    importedFrom !== undefined &&
    (typeof importedFrom !== 'object' || importedFrom === null || Array.isArray(importedFrom))
  ) {
    fail('"imported_from" is not a mapping');
  }
  const common = {
    id,
    title,
    domain,
    tags,
    created,
    body,
    ...(importedFrom === undefined
      ? {}
      : { importedFrom: importedFrom as Record<string, unknown> }),
  };

  const kind = fields.kind;
  if (kind === 'failure') {
    const severity = fields.severity;
    if (
      typeof severity !== 'number' ||
      !Number.isInteger(severity) ||
      severity < 1 ||
      severity > 5
    ) {
      fail('"severity" is not an integer from 1 to 5');
    }
    return { kind, ...common, severity };
  }
  if (kind === 'heuristic') {
    const source = fields.source;
    if (typeof source !== 'string' || !(HEURISTIC_SOURCES as readonly string[]).includes(source)) {
      fail(`"source" is not one of ${HEURISTIC_SOURCES.join(', ')}`);
    }
    const confidence = fields.confidence;
    if (typeof confidence !== 'number' || !(confidence >= 0 && confidence <= 1))
      fail('"confidence" is not a number from 0 to 1');
    const sourceId = fields.source_id;
    if (sourceId !== undefined && (typeof sourceId !== 'string' || !isUlid(sourceId)))
      fail('"source_id" is not a ULID');
    return {
      kind,
      ...common,
      source: source as HeuristicSource,
      confidence,
      ...(sourceId === undefined ? {} : { sourceId }),
    };
  }
  fail(`"kind" ${JSON.stringify(kind)} is neither failure nor heuristic`);
}
