// How `list` and `search` print records for people: a few named layouts, or a template with
// {placeholders} (like `git log --format`). Short ids are the shortest unique prefix, as
// `git log --oneline` abbreviates commits; `show` accepts them.

import { InvalidInputError } from '../src/errors/index.js';
import type { RecordView } from '../src/query/reader.js';
import { highlight, severityColour, type Colours } from './colour.js';

export const LAYOUTS = ['short', 'oneline', 'full', 'ids', 'paths'] as const;
export type Layout = (typeof LAYOUTS)[number];

/** Placeholders of a --format template, for a record (and, in search, its hit). */
export const FIELDS = [
  'id',
  'short',
  'kind',
  'domain',
  'title',
  'created',
  'date',
  'grade',
  'severity',
  'confidence',
  'tags',
  'path',
  'rowid',
  'commit',
  'blob',
  'snippet',
  'score',
] as const;

export interface Line {
  readonly record: RecordView;
  readonly short: string;
  /** Search only: the title with hits marked **so**, a snippet of the body, the bm25 score. */
  readonly title?: string;
  readonly snippet?: string;
  readonly score?: number;
}

export type Formatter = (line: Line, index: number) => string;

function grade(r: RecordView): string {
  return r.kind === 'failure'
    ? `sev ${r.severity ?? '?'}`
    : `conf ${r.confidence === null ? '?' : Math.round(r.confidence * 100) / 100}`;
}

/** confidence 0.78 · 6 validations, 1 violation · golden · retired (why) */
export function lifecycleLine(r: RecordView): string {
  const parts: string[] = [];
  if (r.confidence !== null) parts.push(`confidence ${r.confidence.toFixed(2)}`);
  if (r.kind === 'heuristic' || r.validations + r.violations > 0)
    parts.push(
      `${r.validations} validation${r.validations === 1 ? '' : 's'}, ${r.violations} violation${r.violations === 1 ? '' : 's'}`,
    );
  if (r.golden) parts.push('golden');
  if (r.retired)
    parts.push(
      `retired${r.retiredReason === null ? '' : ` (${r.retiredReason})`}${r.supersededBy === null ? '' : `, superseded by ${r.supersededBy}`}`,
    );
  return parts.join(' · ');
}

function value(line: Line, field: (typeof FIELDS)[number]): string {
  const r = line.record;
  switch (field) {
    case 'short':
      return line.short;
    case 'date':
      return r.created.slice(0, 10);
    case 'grade':
      return grade(r);
    case 'tags':
      return r.tags.join(',');
    case 'title':
      return (line.title ?? r.title).replace(/\*\*/g, '');
    case 'snippet':
      return (line.snippet ?? '').replace(/\s+/g, ' ').replace(/\*\*/g, '').trim();
    case 'score':
      return line.score === undefined ? '' : line.score.toFixed(2);
    case 'blob':
      return r.blob;
    default: {
      const v = r[field];
      return v === null || v === undefined ? '' : String(v);
    }
  }
}

/** A formatter for `--format` (a layout name or a template); `fallback` when not given. */
export function formatter(format: string | undefined, fallback: Formatter, c: Colours): Formatter {
  if (format === undefined || format === '') return fallback;
  if (!format.includes('{')) {
    const layout = LAYOUTS.find((l) => l === format);
    if (layout === undefined)
      throw new InvalidInputError(
        '--format',
        `${JSON.stringify(format)} is not a layout`,
        `Use one of ${LAYOUTS.join(', ')}, or a template such as "{short} {date} {title}" (fields: ${FIELDS.join(', ')}).`,
      );
    return layoutFormatter(layout, c);
  }
  const template = format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  for (const [, name] of template.matchAll(/\{([^}]*)\}/g))
    if (!(FIELDS as readonly string[]).includes(name!))
      throw new InvalidInputError(
        '--format',
        `the template names an unknown field {${name}}`,
        `Fields: ${FIELDS.map((f) => `{${f}}`).join(' ')}.`,
      );
  return (line) =>
    template.replace(/\{([^}]*)\}/g, (_, name: string) =>
      value(line, name as (typeof FIELDS)[number]),
    );
}

function layoutFormatter(layout: Layout, c: Colours): Formatter {
  switch (layout) {
    case 'short':
      return (line) => shortLine(line, c);
    case 'oneline':
      return (line) => `${c.yellow(line.short)} ${highlight(line.title ?? line.record.title, c)}`;
    case 'ids':
      return (line) => line.record.id;
    case 'paths':
      return (line) => line.record.path;
    case 'full':
      return (line) => {
        const r = line.record;
        return [
          `${c.yellow(r.id)}  ${r.kind} · ${r.domain} · ${severityColour(r.severity, grade(r), c)}`,
          `  ${highlight(line.title ?? r.title, c)}`,
          `  created ${r.created} · rowid ${r.rowid} · commit ${r.commit.slice(0, 12)}`,
          `  ${r.path}${r.tags.length === 0 ? '' : ` · tags ${r.tags.join(', ')}`}`,
          ...(line.snippet === undefined || line.snippet.trim() === ''
            ? []
            : [`  ${highlight(line.snippet.replace(/\s+/g, ' ').trim(), c)}`]),
        ].join('\n');
      };
  }
}

/** The default line of `list`: short id, kind, domain, grade, date, title. */
export function shortLine(line: Line, c: Colours): string {
  const r = line.record;
  const g = grade(r).padEnd(7);
  return `${c.yellow(line.short)}  ${r.kind.padEnd(9)} ${r.domain.padEnd(12)} ${severityColour(r.severity, g, c)} ${c.dim(r.created.slice(0, 10))}  ${r.golden ? '★ ' : ''}${highlight(line.title ?? r.title, c)}${r.retired ? c.dim(' (retired)') : ''}`;
}

/** 5001 -> "5,001". */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}
