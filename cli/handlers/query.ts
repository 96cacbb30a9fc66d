// The read commands: open the store read-only, print people's text or one JSON object.

import { InvalidInputError } from '../../src/errors/index.js';
import type { ContextArgs, ListArgs, SearchArgs, ShowArgs } from '../commands/query.js';
import { Output, type GlobalArgs } from '../output.js';
import { highlight, severityColour, stdoutColours } from '../colour.js';
import { count, formatter, lifecycleLine, shortLine } from '../format.js';
import { operand, storeFrom, wholeNumber } from './common.js';

function kindOf(value: string | undefined): 'failure' | 'heuristic' | undefined {
  return value === 'failure' || value === 'heuristic' ? value : undefined;
}

export async function list(args: ListArgs): Promise<void> {
  const out = new Output(args);
  const c = stdoutColours();
  const print = formatter(args.format, (l) => shortLine(l, c), c);
  const store = await storeFrom(args);
  const { records, total, shortIds } = await store.listPage({
    kind: kindOf(args.kind),
    domain: args.domain,
    tag: args.tag,
    since: args.since,
    limit: wholeNumber('--limit', args.limit),
    sort: args.sort as 'recent' | 'confidence' | 'severity' | undefined,
    all: args.all === true,
  });
  out.result({ ok: true, count: records.length, total, records }, () =>
    records.length === 0
      ? 'No records match.'
      : records
          .map((record, i) => print({ record, short: shortIds.get(record.id)! }, i))
          .join('\n'),
  );
  if (records.length > 0)
    out.footer(
      c.dim(
        `${count(records.length)} of ${count(total)} record${total === 1 ? '' : 's'}${records.length < total ? ' (--limit N for more)' : ''}`,
      ),
    );
}

export async function show(args: ShowArgs): Promise<void> {
  const out = new Output(args);
  const ref = operand(
    args.ref,
    'show',
    '<ref>',
    'a record id, a unique id prefix, a rowid or a path',
  );
  const store = await storeFrom(args);
  const record = await store.get(ref);
  const c = stdoutColours();
  out.result({ ok: true, record }, () => {
    const grade =
      record.kind === 'failure'
        ? `severity ${record.severity}`
        : `confidence ${Math.round((record.confidence ?? 0) * 100) / 100}`;
    return [
      `${record.kind} ${c.yellow(record.id)} (rowid ${record.rowid}) · ${record.domain} · ${severityColour(record.severity, grade, c)}`,
      `path ${record.path} · commit ${record.commit.slice(0, 12)} · ${record.created}`,
      record.tags.length === 0 ? '' : `tags ${record.tags.join(', ')}`,
      lifecycleLine(record),
      '',
      record.body.trim() === '' ? `# ${record.title}` : record.body.trimEnd(),
    ]
      .filter((l, i) => l !== '' || i === 4)
      .join('\n');
  });
}

export async function search(args: SearchArgs): Promise<void> {
  const out = new Output(args);
  const text = operand(args.text, 'search', '<text>', 'the words to find').join(' ');
  if (text.trim() === '')
    throw new InvalidInputError('text', 'is empty', 'Pass the words to search for.');
  const c = stdoutColours();
  const print = formatter(
    args.format,
    (l, i) =>
      `${i + 1}. ${highlight(l.title!, c)}  [${l.record.kind}, ${l.record.domain}] ${c.yellow(l.short)}${l.snippet!.trim() === '' ? '' : `\n   ${highlight(l.snippet!.replace(/\s+/g, ' ').trim(), c)}`}`,
    c,
  );
  const store = await storeFrom(args);
  const { hits, shortIds } = await store.searchWithShortIds(text, {
    kind: kindOf(args.kind),
    domain: args.domain,
    limit: wholeNumber('--limit', args.limit),
    raw: args.raw === true,
    all: args.all === true,
  });
  out.result({ ok: true, query: text, count: hits.length, hits }, () =>
    hits.length === 0
      ? `Nothing matches ${JSON.stringify(text)}.`
      : hits
          .map((h, i) =>
            print(
              {
                record: h.record,
                short: shortIds.get(h.record.id)!,
                title: h.title,
                snippet: h.snippet,
                score: h.score,
              },
              i,
            ),
          )
          .join('\n'),
  );
}

export async function context(args: ContextArgs): Promise<void> {
  const out = new Output(args);
  const store = await storeFrom(args);
  const digest = await store.context({
    domain: args.domain,
    tags: args.tags?.split(',').map((t) => t.trim()),
    maxTokens: wholeNumber('--max-tokens', args.maxTokens),
  });
  out.result({ ok: true, ...digest }, () => digest.markdown.trimEnd());
}

export async function stats(args: GlobalArgs): Promise<void> {
  const out = new Output(args);
  const store = await storeFrom(args);
  const s = await store.stats();
  const table = (o: Record<string, number>): string =>
    Object.entries(o)
      .map(([k, n]) => `  ${k.padEnd(16)} ${n}`)
      .join('\n');
  out.result({ ok: true, ...s }, () =>
    [
      `${s.records} records`,
      `by kind:\n${table(s.byKind)}`,
      `by domain:\n${table(s.byDomain)}`,
      `by month:\n${table(s.byMonth)}`,
      `size: ${(s.size.total / 1024).toFixed(0)} KiB (git ${(s.size.git / 1024).toFixed(0)} KiB, index.db ${(s.size.index / 1024).toFixed(0)} KiB, record files ${(s.size.records / 1024).toFixed(0)} KiB)`,
      s.lastCommit === null
        ? 'no commit yet'
        : `last commit: ${s.lastCommit.id.slice(0, 12)} ${s.lastCommit.date} ${s.lastCommit.subject}`,
    ].join('\n'),
  );
}
