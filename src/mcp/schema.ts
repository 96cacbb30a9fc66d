// The tools' arguments in zod: one declaration gives the JSON Schema a model reads (tools/list)
// and the check a call's arguments pass first. zod checks only the JSON types, the enums and
// the field names; the limits (lengths, patterns, ranges) come from the record validator's
// LIMITS and are written into the JSON Schema as metadata, and the library enforces them, with
// the command line's own messages, so a tool call and a CLI call are refused alike.

import { z } from 'zod';
import { InvalidInputError } from '../errors/index.js';
import { MIN_TOKENS } from '../query/context.js';
import { SORT_ORDERS } from '../query/reader.js';
import {
  CONFIDENCE_WORDS,
  DEFAULT_CONFIDENCE,
  DEFAULT_SEVERITY,
  DEFAULT_SOURCE,
  LIMITS,
  SEVERITY_WORDS,
} from '../record/validate.js';
import { HEURISTIC_SOURCES } from '../record/types.js';

/** JSON Schema, as a tool listing carries it. */
export type JsonSchema = { readonly type: 'object' } & Readonly<Record<string, unknown>>;

// -- fields ---------------------------------------------------------------------------------

/** One line of text: a title or a rule. */
function line(description: string): z.ZodString {
  return z.string().meta({ minLength: 1, maxLength: LIMITS.title, description });
}

/** Free text: a section or the body. */
function text(description: string): z.ZodOptional<z.ZodString> {
  return z.string().meta({ maxLength: LIMITS.text, description }).optional();
}

const domain = z.string().meta({
  minLength: 1,
  maxLength: LIMITS.domain,
  pattern: '^[A-Za-z0-9_-]+$',
  description: 'The area of work, such as "database" or "ci-pipeline" (lowercased).',
});

const tags = z
  .array(z.string().meta({ maxLength: LIMITS.tag }))
  .meta({
    maxItems: LIMITS.tags,
    description: `Short tags such as "migrations" (lowercased; at most ${LIMITS.tags} of at most ${LIMITS.tag} characters).`,
  })
  .optional();

const kind = z
  .enum(['failure', 'heuristic'])
  .meta({ description: 'Only this kind of record.' })
  .optional();

const filterDomain = z.string().meta({ description: 'Only this domain.' }).optional();

function count(description: string, fallback: number, minimum = 1): z.ZodOptional<z.ZodNumber> {
  return z.number().meta({ type: 'integer', minimum, default: fallback, description }).optional();
}

// -- inputs ---------------------------------------------------------------------------------

export const recordFailureInput = z.strictObject({
  title: line('What went wrong, in one line.'),
  domain,
  severity: z
    .union([z.number(), z.string()])
    .meta({
      anyOf: [
        { type: 'integer', minimum: 1, maximum: 5 },
        { type: 'string', enum: Object.keys(SEVERITY_WORDS) },
      ],
      default: DEFAULT_SEVERITY,
      description: `1 to 5, or ${Object.entries(SEVERITY_WORDS)
        .map(([word, n]) => `${word} (${n})`)
        .join(', ')}.`,
    })
    .optional(),
  summary: text('A short account of the failure.'),
  whatHappened: text('Section "What Happened".'),
  rootCause: text('Section "Root Cause".'),
  impact: text('Section "Impact".'),
  prevention: text('Section "Prevention": what avoids it next time.'),
  tags,
  body: text('More Markdown, appended after the sections.'),
});

export const recordHeuristicInput = z.strictObject({
  rule: line('The rule learnt, in one line.'),
  domain,
  explanation: text('Why the rule holds.'),
  source: z
    .enum(HEURISTIC_SOURCES)
    .meta({ default: DEFAULT_SOURCE, description: 'How the rule was learnt.' })
    .optional(),
  confidence: z
    .union([z.number(), z.string()])
    .meta({
      anyOf: [
        { type: 'number', minimum: 0, maximum: 1 },
        { type: 'string', enum: Object.keys(CONFIDENCE_WORDS) },
      ],
      default: DEFAULT_CONFIDENCE,
      description: `0 to 1, or ${Object.entries(CONFIDENCE_WORDS)
        .map(([word, n]) => `${word} (${n})`)
        .join(', ')}.`,
    })
    .optional(),
  sourceId: z
    .string()
    .meta({
      pattern: '^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}$',
      description: 'The id of the failure this rule came from.',
    })
    .optional(),
  tags,
  body: text('More Markdown, appended after the explanation.'),
});

export const searchInput = z.strictObject({
  text: z.string().meta({
    minLength: 1,
    description:
      'Words to find in titles, rules, bodies, tags and domains (all of them must occur).',
  }),
  kind,
  domain: filterDomain,
  limit: count('At most this many hits.', 20),
  raw: z
    .boolean()
    .meta({
      default: false,
      description: 'The text is an FTS5 query (AND, OR, NOT, "phrase", prefix*).',
    })
    .optional(),
});

export const listInput = z.strictObject({
  kind,
  domain: filterDomain,
  tag: z.string().meta({ description: 'Only records with this tag.' }).optional(),
  since: z
    .string()
    .meta({ description: 'Only records created on or after this date (YYYY-MM-DD).' })
    .optional(),
  limit: count('At most this many records.', 50),
  sort: z
    .enum(SORT_ORDERS as [string, ...string[]])
    .meta({ default: 'recent', description: 'The order, newest first by default.' })
    .optional(),
});

export const showInput = z.strictObject({
  ref: z.string().meta({
    minLength: 1,
    description: 'The record: its id, a unique prefix of the id, its rowid or its path.',
  }),
});

export const contextInput = z.strictObject({
  domain: domain
    .meta({ ...domain.meta(), description: 'The domain of the task; every domain if left out.' })
    .optional(),
  tags: z
    .array(z.string())
    .meta({
      description:
        "Related records from other domains are those sharing one of these tags (default: the domain's most used tags).",
    })
    .optional(),
  maxTokens: count('The token budget of the digest (1 token ~ 4 characters).', 2000, MIN_TOKENS),
});

export const statsInput = z.strictObject({});

const ref = z.string().meta({
  minLength: 1,
  description: 'The record: its id, a unique prefix of the id, its rowid or its path.',
});
const note = z
  .string()
  .meta({ maxLength: LIMITS.title, description: 'What happened, in one line.' })
  .optional();

export const validateInput = z.strictObject({ ref, note });

export const violateInput = z.strictObject({
  ref,
  note,
  failure: z
    .string()
    .meta({
      minLength: 1,
      description: 'The recorded failure it caused (id, prefix, rowid or path).',
    })
    .optional(),
});

export const goldenInput = z.strictObject({ domain: filterDomain });

export const updateInput = z.strictObject({
  ref,
  title: line("A failure's corrected title.").optional(),
  rule: line("A heuristic's corrected rule.").optional(),
  summary: text('The corrected Summary (failure) or Explanation (heuristic).'),
  tags: tags.meta({
    ...tags.meta(),
    description: 'The corrected tags (they replace the old ones).',
  }),
  severity: recordFailureInput.shape.severity,
  confidence: recordHeuristicInput.shape.confidence,
  body: text("The record's whole corrected body (Markdown)."),
});

export const retireInput = z.strictObject({
  ref,
  reason: z
    .string()
    .meta({ maxLength: LIMITS.title, description: 'Why it is retired, in one line.' })
    .optional(),
  supersededBy: z
    .string()
    .meta({ minLength: 1, description: 'The record that replaces it (id, prefix, rowid or path).' })
    .optional(),
});

// -- outputs --------------------------------------------------------------------------------

export const recordResult = z.looseObject({
  ok: z.literal(true),
  id: z.string().meta({ description: 'The ULID of the record.' }),
  rowid: z.number().meta({ type: 'integer', minimum: 1 }),
  kind: z.enum(['failure', 'heuristic']),
  path: z.string().meta({ description: 'The file, relative to the store.' }),
  commit: z.string().meta({ description: 'The git commit that holds it.' }),
});

export const recordView = z.looseObject({
  rowid: z.number(),
  id: z.string(),
  kind: z.enum(['failure', 'heuristic']),
  path: z.string(),
  title: z.string(),
  domain: z.string(),
  tags: z.array(z.string()),
  created: z.string(),
  severity: z.number().nullable(),
  source: z.string().nullable(),
  confidence: z.number().nullable(),
  sourceId: z.string().nullable(),
  body: z.string(),
  importedFrom: z.unknown(),
  blob: z.string(),
  commit: z.string(),
  validations: z.number(),
  violations: z.number(),
  golden: z.boolean(),
  retired: z.boolean(),
});

/** A record in a list or among search hits: all but its body, which `show` gives. */
export const recordSummary = recordView.omit({ body: true });

export const listResult = z.looseObject({
  ok: z.literal(true),
  count: z.number(),
  records: z.array(recordSummary),
});

export const showResult = z.looseObject({ ok: z.literal(true), record: recordView });

export const lifecycleResult = z.looseObject({
  ok: z.literal(true),
  id: z.string().meta({ description: 'The ULID of the event.' }),
  rowid: z.number().meta({ type: 'integer', minimum: 1 }),
  kind: z.literal('event'),
  verb: z.enum(['validate', 'violate', 'promote', 'demote', 'update', 'retire']),
  target: z.string().meta({ description: 'The record changed.' }),
  path: z.string().meta({ description: "The event's file, relative to the store." }),
  commit: z.string(),
  record: recordView.meta({ description: 'The record as now folded over its events.' }),
});

export const searchResult = z.looseObject({
  ok: z.literal(true),
  query: z.string(),
  count: z.number(),
  hits: z.array(
    z.looseObject({
      record: recordSummary,
      score: z.number(),
      title: z.string(),
      snippet: z.string(),
    }),
  ),
});

const counts = z.looseObject({ heuristics: z.number(), failures: z.number(), related: z.number() });

export const contextResult = z.looseObject({
  ok: z.literal(true),
  markdown: z.string(),
  tokens: z.number(),
  maxTokens: z.number(),
  included: counts,
  omitted: counts,
});

export const statsResult = z.looseObject({
  ok: z.literal(true),
  records: z.number(),
  byKind: z.record(z.string(), z.number()),
  byDomain: z.record(z.string(), z.number()),
  byMonth: z.record(z.string(), z.number()),
  size: z.looseObject({
    total: z.number(),
    git: z.number(),
    index: z.number(),
    records: z.number(),
  }),
  lastCommit: z.looseObject({ id: z.string(), subject: z.string(), date: z.string() }).nullable(),
});

/** What every tool returns when it fails: the `--json` error object of the command line. */
export const errorResult = z.looseObject({
  ok: z.literal(false),
  error: z.looseObject({
    code: z.string().meta({ description: 'A stable code such as INVALID_INPUT or LOCK_TIMEOUT.' }),
    message: z.string(),
    data: z.record(z.string(), z.unknown()).optional(),
  }),
});

// -- conversion -----------------------------------------------------------------------------

/**
 * JSON Schema of a tool's arguments. draft-07, as the SDK's own McpServer emits, so clients that
 * validate with a draft-07 validator (the SDK's client uses Ajv) accept it.
 */
export function inputJsonSchema(schema: z.ZodObject): JsonSchema {
  return z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }) as JsonSchema;
}

/**
 * JSON Schema of a tool's structured result: its success shape or the error shape. MCP wants an
 * object schema at the top, and a client checks error results against it too.
 */
export function outputJsonSchema(success: z.ZodObject): JsonSchema {
  const { $schema, ...union } = z.toJSONSchema(z.union([success, errorResult]), {
    target: 'draft-7',
    io: 'output',
  });
  return { $schema, type: 'object', ...union } as JsonSchema;
}

/**
 * Check a call's arguments against a tool's schema; the first problem becomes the
 * INVALID_INPUT error the command line would give, naming the field and the fix.
 */
export function parseArguments<T extends z.ZodObject>(
  tool: string,
  schema: T,
  args: unknown,
): z.infer<T> {
  const result = schema.safeParse(args ?? {}, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const fields = Object.keys(schema.shape);
  const field = issue.path.map(String).join('.') || 'arguments';
  const description = (schema.shape[issue.path[0] as string] as z.ZodType | undefined)?.meta()
    ?.description;
  const fix = description === undefined ? '' : ` (${description})`;
  switch (issue.code) {
    case 'unrecognized_keys':
      throw new InvalidInputError(
        issue.keys.join(', '),
        `${issue.keys.length === 1 ? 'is not an argument' : 'are not arguments'} of ${tool}`,
        `Its arguments are: ${fields.join(', ') || 'none'}.`,
      );
    case 'invalid_type':
      if (issue.input === undefined)
        throw new InvalidInputError(field, 'is required', `Pass ${field}${fix}.`);
      throw new InvalidInputError(
        field,
        `must be ${issue.expected === 'object' ? 'an object' : `a ${issue.expected}`}, got ${describeType(issue.input)}`,
        `Pass ${field} as a ${issue.expected}${fix}.`,
      );
    case 'invalid_value':
      throw new InvalidInputError(
        field,
        `${JSON.stringify(issue.input)} is not one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`,
        `Pass one of them${fix}.`,
      );
    case 'invalid_union':
      throw new InvalidInputError(
        field,
        `${describeType(issue.input)} is not accepted here`,
        `Pass ${field}${fix}.`,
      );
    default:
      throw new InvalidInputError(field, issue.message, `Check ${field}${fix}.`);
  }
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
