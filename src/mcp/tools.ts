// The MCP tools: one entry each, naming the tool, its arguments and result (schema.ts), and
// what it does with the store. Writes go through the same Store calls as the command line
// (the same validation, coordinator and transaction); reads open index.db afresh per call.
// A new tool (validate, violate, golden, update, retire) is one more entry in TOOLS.

import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { UsageError } from '../errors/index.js';
import { estimateTokens, tokenBudget } from '../query/context.js';
import type { RecordView } from '../query/reader.js';
import type { RecordResult } from '../record/types.js';
import type { LifecycleResult, Store } from '../store/store.js';
import {
  contextInput,
  contextResult,
  goldenInput,
  lifecycleResult,
  retireInput,
  updateInput,
  validateInput,
  violateInput,
  listInput,
  listResult,
  recordFailureInput,
  recordHeuristicInput,
  recordResult,
  searchInput,
  searchResult,
  showInput,
  showResult,
  statsInput,
  statsResult,
} from './schema.js';

/** What a tool call produced: the structured content and a short text for the model. */
export interface ToolOutput {
  readonly structured: { readonly ok: true } & Readonly<Record<string, unknown>>;
  readonly text: string;
}

export interface LessonsTool<I extends z.ZodObject = z.ZodObject> {
  /** snake_case, as MCP clients show it. */
  readonly name: string;
  readonly title: string;
  /** What a model reads to decide when to call it. */
  readonly description: string;
  readonly input: I;
  /** The structured content on success (errors share one shape, schema.ts errorResult). */
  readonly output: z.ZodObject;
  readonly annotations: ToolAnnotations;
  readonly run: (store: Store, args: z.infer<I>) => Promise<ToolOutput>;
}

/** Keeps a tool's argument type for its `run` while the table holds tools of every shape. */
function defineTool<I extends z.ZodObject>(tool: LessonsTool<I>): LessonsTool {
  return tool;
}

const WRITE: ToolAnnotations = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: false,
  openWorldHint: false,
};
const READ: ToolAnnotations = { readOnlyHint: true, openWorldHint: false };

/**
 * A store nobody has written to yet has no .git: readers find nothing in it rather than fail,
 * so an agent's first `context` in a new project is an empty digest, not an error.
 */
async function orNothingYet<T>(read: () => Promise<T>, nothing: () => T): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof UsageError && error.code === 'NOT_A_STORE') return nothing();
    throw error;
  }
}

function recorded(result: RecordResult): ToolOutput {
  return {
    structured: { ...result },
    text: `Recorded ${result.kind} ${result.id} (rowid ${result.rowid}): file ${result.path}, commit ${result.commit}.`,
  };
}

/**
 * A record without its body, for lists and search hits: twenty bodies of up to 50,000
 * characters would flood a model's context; `show` gives one in full.
 */
function summary({ body: _body, ...rest }: RecordView): Omit<RecordView, 'body'> {
  return rest;
}

function line(r: Omit<RecordView, 'body'>): string {
  const grade =
    r.kind === 'failure' ? `severity ${r.severity ?? '?'}` : `confidence ${r.confidence ?? '?'}`;
  return `${r.id} ${r.kind} [${r.domain}] ${grade} ${r.created.slice(0, 10)}: ${r.title}`;
}

export const recordFailureTool = defineTool({
  name: 'record_failure',
  title: 'Record a failure',
  description:
    'Record something that went wrong and what was learnt from it, so later tasks avoid it. ' +
    'Stored as one transaction: a Markdown file, a row in the index and a git commit, all or ' +
    'nothing. Give the root cause and the prevention when known.',
  input: recordFailureInput,
  output: recordResult,
  annotations: { ...WRITE, title: 'Record a failure' },
  run: async (store, args) => recorded(await store.recordFailure(args)),
});

export const recordHeuristicTool = defineTool({
  name: 'record_heuristic',
  title: 'Record a heuristic',
  description:
    'Record a rule learnt while working (a heuristic), with why it holds and how sure you are. ' +
    'Stored as one transaction: file, index row and git commit, all or nothing.',
  input: recordHeuristicInput,
  output: recordResult,
  annotations: { ...WRITE, title: 'Record a heuristic' },
  run: async (store, args) => recorded(await store.recordHeuristic(args)),
});

export const searchTool = defineTool({
  name: 'search',
  title: 'Search lessons',
  description:
    'Full-text search over recorded failures and heuristics (titles, rules, bodies, tags, ' +
    'domains), best match first, each with a snippet (`show` gives a record in full). Search ' +
    'before a risky change or when something fails.',
  input: searchInput,
  output: searchResult,
  annotations: { ...READ, title: 'Search lessons' },
  run: async (store, { text, ...options }) => {
    const hits = await orNothingYet(
      () => store.search(text, options),
      () => [],
    );
    return {
      structured: {
        ok: true,
        query: text,
        count: hits.length,
        hits: hits.map((h) => ({ ...h, record: summary(h.record) })),
      },
      text:
        hits.length === 0
          ? `Nothing matches ${JSON.stringify(text)}.`
          : hits
              .map((h, i) => {
                const snippet = h.snippet.replace(/\s+/g, ' ').trim();
                return `${i + 1}. ${line(h.record)}${snippet === '' ? '' : `\n   ${snippet}`}`;
              })
              .join('\n'),
    };
  },
});

export const showTool = defineTool({
  name: 'show',
  title: 'Show a lesson',
  description: 'One record in full, by id, unique id prefix, rowid or path.',
  input: showInput,
  output: showResult,
  annotations: { ...READ, title: 'Show a lesson' },
  run: async (store, { ref }) => {
    const record = await store.get(ref);
    return {
      structured: { ok: true, record },
      text: `${line(record)}\ntags: ${record.tags.join(', ') || '-'} · path ${record.path} · commit ${record.commit}\n\n${record.body.trimEnd()}`,
    };
  },
});

export const listTool = defineTool({
  name: 'list',
  title: 'List lessons',
  description:
    'Recorded failures and heuristics, newest first, filtered by kind, domain or tag (without ' +
    'their bodies: `show` gives a record in full).',
  input: listInput,
  output: listResult,
  annotations: { ...READ, title: 'List lessons' },
  run: async (store, args) => {
    const records = await orNothingYet(
      () => store.list({ ...args, sort: args.sort as 'recent' | 'confidence' | 'severity' }),
      () => [],
    );
    return {
      structured: { ok: true, count: records.length, records: records.map(summary) },
      text: records.length === 0 ? 'No records match.' : records.map(line).join('\n'),
    };
  },
});

export const contextTool = defineTool({
  name: 'context',
  title: 'Lessons for a task',
  description:
    "A Markdown digest of a domain's rules (by confidence) and failures (most severe first), " +
    'within a token budget. Read it at the start of a task in that domain.',
  input: contextInput,
  output: contextResult,
  annotations: { ...READ, title: 'Lessons for a task' },
  run: async (store, args) => {
    const digest = await orNothingYet(
      () => store.context(args),
      () => emptyDigest(args.domain, args.maxTokens),
    );
    return { structured: { ok: true, ...digest }, text: digest.markdown.trimEnd() };
  },
});

export const statsTool = defineTool({
  name: 'stats',
  title: 'Store statistics',
  description:
    'How many records the store holds, by kind, domain and month; its size; its last commit.',
  input: statsInput,
  output: statsResult,
  annotations: { ...READ, title: 'Store statistics' },
  run: async (store) => {
    const stats = await store.stats();
    const domains = Object.entries(stats.byDomain)
      .sort(([, a], [, b]) => b - a)
      .slice(0, 10)
      .map(([d, n]) => `${d} ${n}`)
      .join(', ');
    return {
      structured: { ok: true, ...stats },
      text: `${stats.records} records (${Object.entries(stats.byKind)
        .map(([k, n]) => `${n} ${k}s`)
        .join(
          ', ',
        )}); domains: ${domains || '-'}; last commit: ${stats.lastCommit === null ? 'none' : `${stats.lastCommit.id.slice(0, 12)} ${stats.lastCommit.subject}`}.`,
    };
  },
});

/** Every tool the server offers, in the order clients list them. */
function changed(result: LifecycleResult): ToolOutput {
  const r = result.record;
  return {
    structured: { ...result },
    text: `${result.verb}: ${r.title} (${r.id}): confidence ${r.confidence ?? '-'}, ${r.validations} validations, ${r.violations} violations${r.golden ? ', golden' : ''}${r.retired ? ', retired' : ''}. Event ${result.path}, commit ${result.commit}.`,
  };
}

export const validateTool = defineTool({
  name: 'validate',
  title: 'A heuristic held',
  description:
    'Report that a recorded heuristic held in this task: its confidence rises, and enough ' +
    'validations make it a golden rule. One transaction (event file, index row, git commit).',
  input: validateInput,
  output: lifecycleResult,
  annotations: { ...WRITE, title: 'A heuristic held' },
  run: async (store, { ref, note }) => changed(await store.validate(ref, { note })),
});

export const violateTool = defineTool({
  name: 'violate',
  title: 'A heuristic failed',
  description:
    'Report that a recorded heuristic did not hold, or that ignoring it caused a failure ' +
    '(link the failure by its id). Its confidence falls; a golden rule may lose golden.',
  input: violateInput,
  output: lifecycleResult,
  annotations: { ...WRITE, title: 'A heuristic failed' },
  run: async (store, { ref, note, failure }) =>
    changed(await store.violate(ref, { note, failure })),
});

export const goldenTool = defineTool({
  name: 'golden',
  title: 'Golden rules',
  description:
    'The golden rules (the heuristics that proved themselves, or that a person promoted), most ' +
    'confident first. Read them before any task.',
  input: goldenInput,
  output: listResult,
  annotations: { ...READ, title: 'Golden rules' },
  run: async (store, { domain }) => {
    const records = await orNothingYet(
      () => store.golden({ domain }),
      () => [],
    );
    return {
      structured: { ok: true, count: records.length, records: records.map(summary) },
      text: records.length === 0 ? 'No golden rules yet.' : records.map(line).join('\n'),
    };
  },
});

export const updateTool = defineTool({
  name: 'update',
  title: 'Correct a lesson',
  description:
    'Correct a recorded failure (title, summary, tags, severity, body) or heuristic (rule, ' +
    'summary, tags, confidence, body), validated like a new record. The original file stays ' +
    'in history; the correction is an event of its own.',
  input: updateInput,
  output: lifecycleResult,
  annotations: { ...WRITE, title: 'Correct a lesson' },
  run: async (store, { ref, ...fields }) => changed(await store.update(ref, fields)),
});

export const retireTool = defineTool({
  name: 'retire',
  title: 'Retire a lesson',
  description:
    'Retire a record that turned out wrong or obsolete: it stays in history and `show`, but ' +
    'leaves context, golden rules, list and search. Name its successor when there is one.',
  input: retireInput,
  output: lifecycleResult,
  annotations: { ...WRITE, title: 'Retire a lesson' },
  run: async (store, { ref, reason, supersededBy }) =>
    changed(await store.retire(ref, { reason, supersededBy })),
});

export const TOOLS: readonly LessonsTool[] = [
  recordFailureTool,
  recordHeuristicTool,
  searchTool,
  showTool,
  listTool,
  contextTool,
  statsTool,
  validateTool,
  violateTool,
  goldenTool,
  updateTool,
  retireTool,
];

/** The digest of a store that does not exist yet, shaped as `context` returns it. */
export function emptyDigest(domain: string | undefined, tokens?: number) {
  const maxTokens = tokenBudget(tokens);
  const where = domain === undefined ? '' : ` for ${domain.toLowerCase()}`;
  const markdown = `# Lessons${where}\n\n_Nothing recorded here yet._\n`;
  return {
    markdown,
    tokens: estimateTokens(markdown),
    maxTokens,
    included: { heuristics: 0, failures: 0, related: 0 },
    omitted: { heuristics: 0, failures: 0, related: 0 },
  };
}
