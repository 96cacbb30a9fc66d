// `lessons context`: a Markdown digest an agent reads before a task. The rules of the domain
// first (by confidence), then its failures (most severe, then most recent) with what prevents
// them, then related records from other domains that share a tag. It fits a token budget,
// estimated as one token per four characters (close for English prose; generous for code), and
// ends by saying what it left out.

import { InvalidInputError } from '../errors/index.js';
import type { Reader, RecordView } from './reader.js';

export interface ContextOptions {
  readonly domain?: string | undefined;
  readonly tags?: readonly string[] | undefined;
  /** @default 2000 */
  readonly maxTokens?: number | undefined;
}

export interface ContextDigest {
  readonly markdown: string;
  /** Estimated tokens of `markdown` (characters / 4, rounded up). */
  readonly tokens: number;
  readonly maxTokens: number;
  readonly included: {
    readonly heuristics: number;
    readonly failures: number;
    readonly related: number;
  };
  readonly omitted: {
    readonly heuristics: number;
    readonly failures: number;
    /** Counted up to RELATED_COUNTED records in all; beyond that, a lower bound. */
    readonly related: number;
  };
}

/** The domain's own tags are its most frequent among this many of its newest records. */
export const TAG_SAMPLE = 2000;
/** Related records are counted up to this many; the digest then says "at least". */
export const RELATED_COUNTED = 1000;

export const CHARS_PER_TOKEN = 4;
/** The smallest token budget a digest accepts. */
export const MIN_TOKENS = 50;
/** The shortest an item of the digest can be (a related line with a short title). */
const MIN_ITEM_CHARS = 48;

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/** The text of a `## Heading` section of a record body, or undefined. */
export function section(body: string, heading: string): string | undefined {
  const match = new RegExp(`^## ${heading}\\s*\\n([\\s\\S]*?)(?=^## |(?![\\s\\S]))`, 'm').exec(
    body,
  );
  const text = match?.[1]?.trim();
  return text === undefined || text === '' ? undefined : text;
}

function oneLine(text: string | undefined, max = 300): string {
  if (text === undefined) return '';
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function heuristicItem(h: RecordView): string {
  const why = oneLine(section(h.body, 'Explanation'));
  const confidence = h.confidence === null ? '?' : String(Math.round(h.confidence * 100) / 100);
  const evidence = h.validations + h.violations === 0 ? '' : `, ${h.validations}✓ ${h.violations}✗`;
  return `- ${h.golden ? '★ ' : ''}**${h.title}** (confidence ${confidence}${evidence}, from ${h.source ?? 'observation'}; ${h.id})${why === '' ? '' : `\n  ${why}`}\n`;
}

function failureItem(f: RecordView): string {
  const summary = oneLine(section(f.body, 'Summary'));
  const prevention = oneLine(section(f.body, 'Prevention'));
  return (
    `### ${f.title}\nseverity ${f.severity ?? '?'} · ${f.created.slice(0, 10)} · ${f.id}\n` +
    (summary === '' ? '' : `${summary}\n`) +
    (prevention === '' ? '' : `**Prevention:** ${prevention}\n`) +
    '\n'
  );
}

function relatedItem(r: RecordView): string {
  const tags = r.tags.join(', ');
  return `- ${r.kind === 'heuristic' ? 'rule' : 'failure'} in ${r.domain}: **${r.title}** (${tags}; ${r.id})\n`;
}

/**
 * How many records outside the domain share one of `tags`, up to RELATED_COUNTED: walked from
 * the tag index (the records that share a tag, not the whole store), each distinct one looked
 * up once, stopping at the cap. At a million records the exact count (every sharing record, a
 * tenth of the store per tag) took 230-330 ms, and 1 ms with the cap.
 */
function countRelated(
  reader: Reader,
  tags: readonly string[],
  params: Record<string, unknown>,
): number {
  const [related] = reader.scalar<{ n: number }>(
    `SELECT count(*) AS n FROM (
       SELECT DISTINCT t.rowid_ref FROM record_tags t JOIN records r ON r.rowid = t.rowid_ref
        WHERE t.tag IN (${tags.map((_, i) => `@t${i}`).join(', ')})
          AND r.domain <> @domain AND r.retired = 0
        LIMIT ${RELATED_COUNTED})`,
    params,
  );
  return related?.n ?? 0;
}

/** The token budget of a digest: `maxTokens`, else 2000; at least MIN_TOKENS (INVALID_INPUT). */
export function tokenBudget(maxTokens: number | undefined): number {
  const budget = maxTokens ?? 2000;
  if (!Number.isInteger(budget) || budget < MIN_TOKENS)
    throw new InvalidInputError(
      'max-tokens',
      `${budget} is too small`,
      `Pass ${MIN_TOKENS} or more.`,
    );
  return budget;
}

export function buildContext(reader: Reader, options: ContextOptions = {}): ContextDigest {
  const maxTokens = tokenBudget(options.maxTokens);
  const domain = options.domain?.toLowerCase();
  const inDomain = domain === undefined ? '1 = 1' : 'domain = @domain';
  const params = domain === undefined ? {} : { domain };

  // No digest holds more than a few hundred items; the rest are only counted.
  const heuristicsWhere = `kind = 'heuristic' AND retired = 0 AND ${inDomain}`;
  const failuresWhere = `kind = 'failure' AND retired = 0 AND ${inDomain}`;
  // No item is shorter than MIN_ITEM_CHARS, so no digest can hold more than this many.
  const most = Math.ceil((maxTokens * CHARS_PER_TOKEN) / MIN_ITEM_CHARS);
  // Golden rules first, then the others by confidence.
  const heuristics = reader.rows(
    heuristicsWhere,
    params,
    'golden DESC, confidence DESC, created DESC',
    most,
  );
  const failures = reader.rows(failuresWhere, params, 'severity DESC, created DESC', most);
  let tags = options.tags?.filter((t) => t !== '') ?? [];
  if (tags.length === 0 && domain !== undefined) {
    // From the domain's newest records, each kind read newest first from its (kind, domain,
    // created) index: every record of a large domain would make the digest's cost follow the
    // store's size (110-300 ms at a million records).
    const newest = (kind: string): string =>
      `SELECT * FROM (SELECT rowid, created FROM records WHERE kind = '${kind}' AND domain = @domain
                       ORDER BY created DESC, rowid DESC LIMIT ${TAG_SAMPLE})`;
    tags = reader
      .scalar<{ tag: string }>(
        `SELECT t.tag FROM (SELECT rowid FROM (${newest('failure')} UNION ALL ${newest('heuristic')})
                             ORDER BY created DESC, rowid DESC LIMIT ${TAG_SAMPLE}) r
           JOIN record_tags t ON t.rowid_ref = r.rowid
          GROUP BY t.tag ORDER BY count(*) DESC, t.tag LIMIT 5`,
        { domain },
      )
      .map((r) => r.tag);
  }
  const sharesTag = `EXISTS (SELECT 1 FROM record_tags t WHERE t.rowid_ref = records.rowid AND t.tag IN (${tags.map((_, i) => `@t${i}`).join(', ')}))`;
  const relatedParams = { domain, ...Object.fromEntries(tags.map((t, i) => [`t${i}`, t])) };
  const related =
    domain === undefined || tags.length === 0
      ? []
      : // SQLite walks records newest first and probes each one's tags, stopping at the limit,
        // rather than collecting every record that shares a tag (tens of thousands at 100k).
        reader.rows(
          `domain <> @domain AND retired = 0 AND ${sharesTag}`,
          relatedParams,
          'created DESC',
          100,
        );
  const totals = {
    heuristics: reader.count(heuristicsWhere, params),
    failures: reader.count(failuresWhere, params),
    related: related.length === 0 ? 0 : countRelated(reader, tags, relatedParams),
  };

  const title = `# Lessons${domain === undefined ? '' : ` for ${domain}`}\n\n`;
  // Room for the closing line, whose length depends on the counts (at most ~40 tokens).
  let budget = maxTokens * CHARS_PER_TOKEN - title.length - 160;
  const parts: string[] = [title];
  const take = (
    heading: string,
    items: readonly RecordView[],
    render: (r: RecordView) => string,
  ): number => {
    let taken = 0;
    const head = `## ${heading}\n\n`;
    for (const item of items) {
      if (budget < MIN_ITEM_CHARS) break;
      const text = render(item);
      const cost = text.length + (taken === 0 ? head.length + 1 : 0);
      if (cost > budget) continue;
      if (taken === 0) parts.push(head);
      parts.push(text);
      budget -= cost;
      taken++;
    }
    if (taken > 0) parts.push('\n');
    return taken;
  };
  const included = {
    heuristics:
      take(
        'Golden rules',
        heuristics.filter((h) => h.golden),
        heuristicItem,
      ) +
      take(
        'Rules (by confidence)',
        heuristics.filter((h) => !h.golden),
        heuristicItem,
      ),
    failures: take('Failures to avoid (most severe first)', failures, failureItem),
    related: take(`Related from other domains (tags: ${tags.join(', ')})`, related, relatedItem),
  };
  const omitted = {
    heuristics: totals.heuristics - included.heuristics,
    failures: totals.failures - included.failures,
    related: totals.related - included.related,
  };
  const left = omitted.heuristics + omitted.failures + omitted.related;
  const relatedLeft =
    totals.related >= RELATED_COUNTED ? `at least ${omitted.related}` : String(omitted.related);
  if (included.heuristics + included.failures + included.related === 0 && left === 0)
    parts.push('_Nothing recorded here yet._\n');
  parts.push(
    left === 0
      ? `_Complete: everything recorded${domain === undefined ? '' : ` for ${domain}`} is above._\n`
      : `_Left out to fit ${maxTokens} tokens: ${omitted.heuristics} rules, ${omitted.failures} failures, ${relatedLeft} related. Use \`lessons list\` or \`lessons search\` for more._\n`,
  );
  const markdown = parts.join('').replace(/\n{3,}/g, '\n\n');
  return { markdown, tokens: estimateTokens(markdown), maxTokens, included, omitted };
}
