// A record on disk: YAML front matter holding every indexed field, then the Markdown body.
// render() and parse() are exact inverses for every record validate() can produce.
// Rendering uses `yaml` (its Document API sets the quoting and the flow style of tags);
// parsing uses js-yaml, about ten times faster, which is most of what `reindex` and
// `verify --deep` spend on 100k records. js-yaml's own core schema resolves more plain scalars
// than YAML 1.2's (0b101, +0x1, 1_0.5 are numbers to it, strings to `yaml`, which therefore
// writes them unquoted), so it parses with CORE_1_2 below: exactly the 1.2 core schema.

import jsyaml from 'js-yaml';
import YAML from 'yaml';
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

function frontMatter(record: LessonRecord): Record<string, unknown> {
  const kindFields =
    record.kind === 'failure'
      ? { severity: record.severity }
      : {
          source: record.source,
          confidence: record.confidence,
          ...(record.sourceId === undefined ? {} : { source_id: record.sourceId }),
        };
  return {
    id: record.id,
    kind: record.kind,
    title: record.title,
    domain: record.domain,
    ...kindFields,
    tags: [...record.tags],
    created: record.created,
    ...(record.importedFrom === undefined ? {} : { imported_from: record.importedFrom }),
  };
}

export function renderRecord(record: LessonRecord): string {
  const doc = new YAML.Document(frontMatter(record));
  const tags = doc.get('tags', true);
  if (YAML.isSeq(tags)) tags.flow = true;
  const yaml = doc.toString({ lineWidth: 0, minContentWidth: 0 });
  return `${FENCE}${yaml}${FENCE}${record.body}`;
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

/** Parse a record file. Throws RecordParseError when the file is not one this tool wrote. */
export function parseRecord(content: string | Uint8Array): LessonRecord {
  const { front, body } = splitFrontMatter(content, fail);
  let fm: unknown;
  try {
    fm = jsyaml.load(front, { schema: CORE_1_2 });
  } catch (error) {
    fail(`the front matter is not valid YAML (${(error as Error).message.split('\n')[0]})`);
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
