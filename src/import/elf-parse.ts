// Parsing the shell-script framework's memory directory: its Markdown files in every format
// generation found in the wild, and the rows of its index.db. Nothing here writes anything.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';

/** A failure as one of its Markdown files describes it. */
export interface ElfFailureFile {
  readonly path: string;
  readonly title: string | undefined;
  readonly domain: string | undefined;
  readonly severity: string | undefined;
  readonly tags: string | undefined;
  readonly date: string | undefined;
  readonly text: string;
  /** A stub the framework wrote back from its database ("Recovered from database"). */
  readonly stub: boolean;
}

/** A heuristic from `heuristics/<domain>.md` (a `## H-<n>:` section, or a whole older file). */
export interface ElfHeuristicEntry {
  readonly path: string;
  /** `H-<n>` for sections; undefined when the whole file is one entry. */
  readonly section: string | undefined;
  readonly rule: string;
  readonly domain: string;
  readonly confidence: string | undefined;
  readonly source: string | undefined;
  readonly date: string | undefined;
  readonly tags: string | undefined;
  readonly text: string;
}

export interface ElfLearningRow {
  readonly id: number;
  readonly type: string;
  readonly filepath: string;
  readonly title: string;
  readonly summary: string | null;
  readonly tags: string | null;
  readonly domain: string | null;
  readonly severity: number | null;
  readonly created_at: string | null;
}

export interface ElfHeuristicRow {
  readonly id: number;
  readonly domain: string | null;
  readonly rule: string;
  readonly explanation: string | null;
  readonly source_type: string | null;
  readonly confidence: number | null;
  readonly created_at: string | null;
  /** Lifecycle counts (absent in old databases: 0). */
  readonly times_validated: number | null;
  readonly times_violated: number | null;
  readonly is_golden: number | null;
}

/** The heuristics table, with the lifecycle columns an older database may lack read as 0. */
function heuristicRows(db: BetterSqlite3.Database): ElfHeuristicRow[] {
  const columns = new Set(
    (db.prepare('PRAGMA table_info(heuristics)').all() as { name: string }[]).map((c) => c.name),
  );
  const counted = ['times_validated', 'times_violated', 'is_golden'].map((c) =>
    columns.has(c) ? c : `0 AS ${c}`,
  );
  return db
    .prepare(
      `SELECT id, domain, rule, explanation, source_type, confidence, created_at, ${counted.join(', ')} FROM heuristics ORDER BY id`,
    )
    .all() as ElfHeuristicRow[];
}

/** `**Key**: value` or `**Key:** value`, the framework's two spellings of a field line. */
function boldField(text: string, key: string): string | undefined {
  const match = new RegExp(`^\\*\\*${key}(?::\\*\\*|\\*\\*:)[ \\t]*(.*)$`, 'im').exec(text);
  return match?.[1]?.trim();
}

/** The first line of a `## Heading` section. */
function sectionLine(text: string, heading: string): string | undefined {
  const match = new RegExp(`^## ${heading}[ \\t]*\\n+([^\\n]+)`, 'im').exec(text);
  return match?.[1]?.trim();
}

function heading(text: string): string | undefined {
  return /^# (.+)$/m.exec(text)?.[1]?.trim();
}

/** A date from a field value ("2025-12-01  # comment") or a file name (20251201_x, 2025-12-01-x). */
export function elfDate(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const match = /(\d{4})-?(\d{2})-?(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2}))?/.exec(value);
  if (match === null) return undefined;
  const [, y, m, d, hh = '00', mm = '00', ss = '00'] = match;
  const iso = `${y}-${m}-${d}T${hh}:${mm}:${ss}.000Z`;
  return Number.isNaN(Date.parse(iso)) || Number(m) > 12 || Number(d) > 31 ? undefined : iso;
}

export function parseFailureFile(relative: string, text: string): ElfFailureFile {
  return {
    path: relative,
    title: heading(text),
    domain: boldField(text, 'Domain'),
    severity: boldField(text, 'Severity'),
    tags: boldField(text, 'Tags'),
    date: elfDate(boldField(text, 'Date')) ?? elfDate(path.basename(relative)),
    text,
    stub: /recovered from database/i.test(text),
  };
}

export function parseHeuristicFile(relative: string, text: string): ElfHeuristicEntry[] {
  const fileDomain = path.basename(relative, '.md');
  const sections = [...text.matchAll(/^## (H-\d+): (.+)$/gm)];
  if (sections.length > 0) {
    return sections.map((match, i) => {
      const start = match.index;
      const end = sections[i + 1]?.index ?? text.length;
      const body = text.slice(start, end).replace(/\n---\s*$/, '\n');
      return {
        path: relative,
        section: match[1]!,
        rule: match[2]!.trim(),
        domain: fileDomain,
        confidence: boldField(body, 'Confidence'),
        source: boldField(body, 'Source'),
        date: elfDate(boldField(body, 'Created')),
        tags: undefined,
        text: body.trim(),
      };
    });
  }
  // Older layouts: the whole file is one heuristic, titled by its heading.
  return [
    {
      path: relative,
      section: undefined,
      rule: heading(text) ?? fileDomain,
      domain: boldField(text, 'Domain') ?? sectionLine(text, 'Domain') ?? fileDomain,
      confidence: boldField(text, 'Confidence') ?? sectionLine(text, 'Confidence'),
      source: boldField(text, 'Source') ?? sectionLine(text, 'Source'),
      date:
        elfDate(boldField(text, 'Created')) ??
        elfDate(boldField(text, 'Date')) ??
        elfDate(path.basename(relative)),
      tags: sectionLine(text, 'Tags'),
      text: text.trim(),
    },
  ];
}

/** Heuristics kept as JSON lines ({"domain", "heuristic", "confidence"}). */
export function parseHeuristicLines(relative: string, text: string): ElfHeuristicEntry[] {
  return text
    .split('\n')
    .map((line, i) => ({ line, i }))
    .filter(({ line }) => line.trim() !== '')
    .map(({ line, i }) => {
      const entry = JSON.parse(line) as {
        domain?: string;
        heuristic?: string;
        confidence?: number;
      };
      if (typeof entry.heuristic !== 'string') throw new Error(`line ${i + 1} has no "heuristic"`);
      return {
        path: relative,
        section: `line-${i + 1}`,
        rule: entry.heuristic,
        domain: entry.domain ?? path.basename(relative, '.jsonl'),
        confidence: entry.confidence === undefined ? undefined : String(entry.confidence),
        source: undefined,
        date: undefined,
        tags: undefined,
        text: line,
      };
    });
}

/**
 * The `learnings` and `heuristics` rows of the framework's index.db. It is read from a private
 * copy, so that nothing (not even SQLite's -wal/-shm files) is created beside the original.
 */
export function readElfDatabase(file: string): {
  learnings: ElfLearningRow[];
  heuristics: ElfHeuristicRow[];
} {
  if (!fs.existsSync(file)) return { learnings: [], heuristics: [] };
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'lessons-elf-'));
  try {
    for (const suffix of ['', '-wal']) {
      if (fs.existsSync(`${file}${suffix}`))
        fs.copyFileSync(`${file}${suffix}`, path.join(copy, `index.db${suffix}`));
    }
    const db = new BetterSqlite3(path.join(copy, 'index.db'), { fileMustExist: true });
    try {
      const tables = new Set(
        (
          db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
            name: string;
          }[]
        ).map((t) => t.name),
      );
      return {
        learnings: tables.has('learnings')
          ? (db
              .prepare(
                'SELECT id, type, filepath, title, summary, tags, domain, severity, created_at FROM learnings ORDER BY id',
              )
              .all() as ElfLearningRow[])
          : [],
        heuristics: tables.has('heuristics') ? heuristicRows(db) : [],
      };
    } finally {
      db.close();
    }
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
}
