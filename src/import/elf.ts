// `lessons import-elf`: move a memory directory of the shell-script framework into a store, as
// one transaction. Files and database rows that describe the same entry are joined; entries
// that exist only as a file or only as a row are imported too; every original identifier and
// path is kept in `imported_from`, so a second run recognises what it already imported.
// Values this tool cannot store as they are (a title with a line break, a domain with spaces)
// are normalised, and the original kept beside them in `imported_from.original`.

import fs from 'node:fs';
import path from 'node:path';
import { UsageError, type SecretFinding } from '../errors/index.js';
import type { ImportedLifecycle } from '../record/lifecycle.js';
import { findSecrets, ruleName } from '../record/secrets.js';
import type { HeuristicSource, RecordInput } from '../record/types.js';
import type { Store } from '../store/store.js';
import type { OnProgress } from '../util/progress.js';
import {
  parseFailureFile,
  parseHeuristicFile,
  parseHeuristicLines,
  readElfDatabase,
  type ElfFailureFile,
  type ElfHeuristicEntry,
  type ElfHeuristicRow,
  type ElfLearningRow,
} from './elf-parse.js';

export interface ImportOptions {
  readonly dryRun?: boolean | undefined;
  /** Also read `failures.backup/` (and folders inside it). @default false */
  readonly includeBackups?: boolean | undefined;
  /** Progress of the import, phase by phase (see RecordManyOptions). */
  readonly onProgress?: OnProgress | undefined;
  /** Secret rules whose matches are imported anyway (see docs/secrets.md). @default [] */
  readonly allowSecrets?: readonly string[] | undefined;
}

export interface KindCounts {
  readonly imported: number;
  readonly joined: number;
  readonly fileOnly: number;
  readonly rowOnly: number;
}

export interface ImportReport {
  readonly ok: boolean;
  readonly dryRun: boolean;
  readonly source: string;
  readonly failures: KindCounts;
  readonly heuristics: KindCounts;
  /** Entries a previous import already brought in. */
  readonly alreadyImported: number;
  /** Entry types lessons does not model, by type, with where they are. */
  readonly unmodelled: readonly { type: string; count: number; paths: string[] }[];
  readonly skipped: readonly { path: string; reason: string }[];
  readonly unparseable: readonly { path: string; reason: string }[];
  /** Entries whose values were normalised, with the fields concerned. */
  readonly normalised: readonly { key: string; fields: string[] }[];
  /** Entries not imported because they hold a secret (masked), with what matched. */
  readonly secrets: readonly { key: string; findings: readonly SecretFinding[] }[];
  readonly commit: string | null;
}

interface Candidate {
  readonly keys: string[];
  readonly input: RecordInput;
  /** The source's validations, violations, golden and confidence (heuristics with a row). */
  readonly lifecycle?: ImportedLifecycle;
  readonly normalised: string[];
  readonly origin: 'joined' | 'file' | 'row';
}

const SEVERITY_WORDS: Record<string, number> = {
  critical: 5,
  high: 4,
  medium: 3,
  moderate: 3,
  low: 2,
  minor: 2,
  trivial: 1,
};
const SOURCES = new Set(['failure', 'success', 'observation', 'debugging']);
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;

function walkFiles(root: string, relative: string, recursive: boolean): string[] {
  const dir = path.join(root, relative);
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const rel = `${relative}/${name}`;
    const stat = fs.lstatSync(path.join(root, rel));
    if (stat.isDirectory()) {
      if (recursive) out.push(...walkFiles(root, rel, true));
    } else if (stat.isFile()) out.push(rel);
  }
  return out;
}

/** One line of plain text, at most 500 characters; `changed` when that altered it. */
function oneLine(value: string): { text: string; changed: boolean } {
  const text = [...value.replace(CONTROL, ' ').replace(/\s+/g, ' ').trim()].slice(0, 500).join('');
  return { text, changed: text !== value };
}

function domainOf(value: string | null | undefined): { domain: string; extra: string[] } {
  const parts = (value ?? '')
    .split(',')
    .map((p) =>
      p
        .trim()
        .toLowerCase()
        .replace(/[^a-z0-9_-]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 100),
    )
    .filter((p) => p !== '');
  return { domain: parts[0] ?? 'imported', extra: parts.slice(1) };
}

function severityOf(value: string | number | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = String(value).trim().toLowerCase();
  const n = Number(/^\d+/.exec(text)?.[0]);
  if (Number.isInteger(n) && n >= 1 && n <= 5) return n;
  const word = /^[a-z]+/.exec(text)?.[0];
  return word === undefined ? undefined : SEVERITY_WORDS[word];
}

function confidenceOf(value: string | number | null | undefined): number | undefined {
  const n = Number(/\d+(\.\d+)?/.exec(String(value ?? ''))?.[0]);
  if (!Number.isFinite(n)) return undefined;
  return n > 1 && n <= 100 ? n / 100 : n >= 0 && n <= 1 ? n : undefined;
}

function tagsOf(...lists: (string | null | undefined)[]): string[] {
  const tags = new Set<string>();
  for (const list of lists)
    for (const tag of (list ?? '').split(',')) {
      const clean = tag.replace(CONTROL, '').trim().slice(0, 50);
      if (clean !== '') tags.add(clean);
    }
  return [...tags].slice(0, 20);
}

function textOf(value: string | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  return value.replace(CONTROL, '');
}

/** The row's date ("2025-12-02 02:15:50", UTC in SQLite) as ISO. */
function rowDate(value: string | null): string | undefined {
  if (value === null) return undefined;
  const iso = `${value.replace(' ', 'T')}${value.includes('T') || value.endsWith('Z') ? '' : 'Z'}`;
  return Number.isNaN(Date.parse(iso)) ? undefined : new Date(iso).toISOString();
}

function ruleKey(domain: string | null | undefined, rule: string): string {
  return `${(domain ?? '').trim().toLowerCase()}\u0000${rule.replace(/\s+/g, ' ').trim().toLowerCase().replace(/\.$/, '')}`;
}

function failureCandidate(
  file: ElfFailureFile | undefined,
  row: ElfLearningRow | undefined,
): Candidate {
  const keys = [
    ...(file === undefined ? [] : [`file:${file.path}`]),
    ...(row === undefined ? [] : [`learnings:${row.id}`]),
  ];
  const rawTitle = file?.title ?? row?.title ?? path.basename(file?.path ?? 'untitled', '.md');
  const title = oneLine(rawTitle);
  const rawDomain = file?.domain ?? row?.domain;
  const { domain, extra } = domainOf(rawDomain);
  const rawSeverity = file?.severity ?? row?.severity;
  const severity = severityOf(rawSeverity);
  const body = file?.text ?? (row?.summary ? `## Summary\n\n${row.summary}\n` : undefined);
  const cleanBody = textOf(body);
  const normalised = [
    ...(title.changed ? ['title'] : []),
    ...(rawDomain !== undefined && rawDomain !== null && rawDomain !== domain ? ['domain'] : []),
    ...(rawSeverity !== undefined &&
    rawSeverity !== null &&
    String(rawSeverity) !== String(severity)
      ? ['severity']
      : []),
    ...(cleanBody !== body ? ['body'] : []),
  ];
  return {
    keys,
    origin:
      file !== undefined && row !== undefined ? 'joined' : file !== undefined ? 'file' : 'row',
    normalised,
    input: {
      kind: 'failure',
      title: title.text === '' ? 'untitled' : title.text,
      domain,
      ...(severity === undefined ? {} : { severity }),
      tags: tagsOf(file?.tags, row?.tags, extra.join(',')),
      created: file?.date ?? rowDate(row?.created_at ?? null) ?? new Date(0).toISOString(),
      ...(cleanBody === undefined || cleanBody.trim() === '' ? {} : { body: cleanBody }),
      importedFrom: {
        from: 'elf',
        keys,
        ...(file === undefined ? {} : { file: file.path, ...(file.stub ? { stub: true } : {}) }),
        ...(row === undefined
          ? {}
          : { row: { table: 'learnings', id: row.id, filepath: row.filepath } }),
        ...(normalised.length === 0
          ? {}
          : {
              original: {
                title: rawTitle,
                ...(rawDomain === undefined ? {} : { domain: rawDomain }),
                ...(rawSeverity === undefined ? {} : { severity: rawSeverity }),
                ...(cleanBody !== body ? { body } : {}),
              },
            }),
      },
    },
  };
}

function heuristicCandidate(
  entry: ElfHeuristicEntry | undefined,
  row: ElfHeuristicRow | undefined,
): Candidate {
  const fileKey =
    entry === undefined
      ? []
      : [`file:${entry.path}${entry.section === undefined ? '' : `#${entry.section}`}`];
  const keys = [...fileKey, ...(row === undefined ? [] : [`heuristics:${row.id}`])];
  const rawRule = entry?.rule ?? row?.rule ?? 'untitled';
  const rule = oneLine(rawRule);
  const rawDomain = entry?.domain ?? row?.domain;
  const { domain, extra } = domainOf(rawDomain);
  const rawSource = entry?.source ?? row?.source_type ?? undefined;
  const source: HeuristicSource =
    rawSource !== undefined && SOURCES.has(rawSource.toLowerCase())
      ? (rawSource.toLowerCase() as HeuristicSource)
      : 'observation';
  const confidence = confidenceOf(entry?.confidence ?? row?.confidence);
  const explanation = textOf(row?.explanation);
  const body = textOf(entry?.text);
  const normalised = [
    ...(rule.changed ? ['rule'] : []),
    ...(rawDomain !== undefined && rawDomain !== null && rawDomain !== domain ? ['domain'] : []),
    ...(rawSource !== undefined && rawSource.toLowerCase() !== source ? ['source'] : []),
  ];
  return {
    keys,
    ...(row === undefined
      ? {}
      : {
          lifecycle: {
            validations: row.times_validated ?? 0,
            violations: row.times_violated ?? 0,
            golden: row.is_golden === 1,
            ...(row.confidence === null ? {} : { confidence: row.confidence }),
          },
        }),
    origin:
      entry !== undefined && row !== undefined ? 'joined' : entry !== undefined ? 'file' : 'row',
    normalised,
    input: {
      kind: 'heuristic',
      rule: rule.text === '' ? 'untitled' : rule.text,
      domain,
      source,
      ...(confidence === undefined ? {} : { confidence }),
      tags: tagsOf(entry?.tags, extra.join(',')),
      created: entry?.date ?? rowDate(row?.created_at ?? null) ?? new Date(0).toISOString(),
      ...(explanation === undefined || explanation.trim() === '' ? {} : { explanation }),
      ...(body === undefined || body.trim() === '' ? {} : { body }),
      importedFrom: {
        from: 'elf',
        keys,
        ...(entry === undefined
          ? {}
          : {
              file: entry.path,
              ...(entry.section === undefined ? {} : { section: entry.section }),
            }),
        ...(row === undefined ? {} : { row: { table: 'heuristics', id: row.id } }),
        ...(normalised.length === 0
          ? {}
          : {
              original: {
                rule: rawRule,
                ...(rawDomain === undefined ? {} : { domain: rawDomain }),
                ...(rawSource === undefined ? {} : { source: rawSource }),
              },
            }),
      },
    },
  };
}

/** Everything the directory holds, joined into candidates, plus what cannot be imported. */
export function planElfImport(
  dir: string,
  options: ImportOptions = {},
): Omit<
  ImportReport,
  'ok' | 'dryRun' | 'commit' | 'alreadyImported' | 'failures' | 'heuristics' | 'secrets'
> & {
  candidates: Candidate[];
} {
  const root = path.resolve(dir);
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory())
    throw new UsageError(
      'IMPORT_SOURCE',
      `${root} is not a directory. Pass the framework's memory/ folder.`,
    );
  const hasLayout = ['failures', 'heuristics', 'index.db'].some((p) =>
    fs.existsSync(path.join(root, p)),
  );
  if (!hasLayout)
    throw new UsageError(
      'IMPORT_SOURCE',
      `${root} has no failures/, heuristics/ or index.db: it is not a memory directory of the shell-script framework.`,
    );
  const skipped: { path: string; reason: string }[] = [];
  const unparseable: { path: string; reason: string }[] = [];
  const unmodelled = new Map<string, string[]>();
  const note = (type: string, where: string): void => {
    unmodelled.set(type, [...(unmodelled.get(type) ?? []), where]);
  };

  // Failure files, by base name (the key the database's file paths share).
  const failureFiles = [
    ...walkFiles(root, 'failures', false),
    ...(options.includeBackups === true ? walkFiles(root, 'failures.backup', true) : []),
  ];
  const files: ElfFailureFile[] = [];
  for (const rel of failureFiles) {
    if (path.basename(rel) === 'TEMPLATE.md')
      skipped.push({ path: rel, reason: 'a template, not an entry' });
    else if (!rel.endsWith('.md')) skipped.push({ path: rel, reason: 'not a Markdown entry' });
    else files.push(parseFailureFile(rel, fs.readFileSync(path.join(root, rel), 'utf8')));
  }
  if (options.includeBackups !== true && fs.existsSync(path.join(root, 'failures.backup')))
    skipped.push({
      path: 'failures.backup/',
      reason: 'backup folder; pass --include-backups to import it',
    });
  for (const rel of walkFiles(root, 'successes', true)) {
    if (path.basename(rel) !== 'TEMPLATE.md') note('success', rel);
  }

  const entries: ElfHeuristicEntry[] = [];
  for (const rel of walkFiles(root, 'heuristics', false)) {
    try {
      if (path.basename(rel) === 'TEMPLATE.md')
        skipped.push({ path: rel, reason: 'a template, not an entry' });
      else if (rel.endsWith('.md'))
        entries.push(...parseHeuristicFile(rel, fs.readFileSync(path.join(root, rel), 'utf8')));
      else if (rel.endsWith('.jsonl'))
        entries.push(...parseHeuristicLines(rel, fs.readFileSync(path.join(root, rel), 'utf8')));
      else skipped.push({ path: rel, reason: 'not a Markdown or JSON-lines entry' });
    } catch (error) {
      unparseable.push({ path: rel, reason: (error as Error).message });
    }
  }

  let rows: ReturnType<typeof readElfDatabase> = { learnings: [], heuristics: [] };
  try {
    rows = readElfDatabase(path.join(root, 'index.db'));
  } catch (error) {
    unparseable.push({ path: 'index.db', reason: (error as Error).message });
  }

  // Join failure rows to files by base name: the top-level folder first, then the backups.
  const byName = new Map<string, ElfFailureFile[]>();
  for (const file of files)
    byName.set(path.basename(file.path), [...(byName.get(path.basename(file.path)) ?? []), file]);
  const joinedFiles = new Set<ElfFailureFile>();
  const candidates: Candidate[] = [];
  for (const row of rows.learnings) {
    if (row.type !== 'failure') {
      note(row.type, `index.db learnings #${row.id} (${row.filepath})`);
      continue;
    }
    const file = byName.get(path.basename(row.filepath))?.find((f) => !joinedFiles.has(f));
    if (file !== undefined) joinedFiles.add(file);
    candidates.push(failureCandidate(file, row));
  }
  for (const file of files)
    if (!joinedFiles.has(file)) candidates.push(failureCandidate(file, undefined));

  const byRule = new Map<string, ElfHeuristicEntry>();
  for (const entry of entries)
    if (!byRule.has(ruleKey(entry.domain, entry.rule)))
      byRule.set(ruleKey(entry.domain, entry.rule), entry);
  const joinedEntries = new Set<ElfHeuristicEntry>();
  for (const row of rows.heuristics) {
    const entry = byRule.get(ruleKey(row.domain, row.rule));
    const match = entry !== undefined && !joinedEntries.has(entry) ? entry : undefined;
    if (match !== undefined) joinedEntries.add(match);
    candidates.push(heuristicCandidate(match, row));
  }
  for (const entry of entries)
    if (!joinedEntries.has(entry)) candidates.push(heuristicCandidate(entry, undefined));

  return {
    source: root,
    candidates,
    skipped,
    unparseable,
    unmodelled: [...unmodelled].map(([type, paths]) => ({ type, count: paths.length, paths })),
    normalised: candidates
      .filter((c) => c.normalised.length > 0)
      .map((c) => ({ key: c.keys[0]!, fields: c.normalised })),
  };
}

function counts(candidates: readonly Candidate[], kind: 'failure' | 'heuristic'): KindCounts {
  const of = candidates.filter((c) => c.input.kind === kind);
  return {
    imported: of.length,
    joined: of.filter((c) => c.origin === 'joined').length,
    fileOnly: of.filter((c) => c.origin === 'file').length,
    rowOnly: of.filter((c) => c.origin === 'row').length,
  };
}

/** Import into `store` as one transaction (or, with dryRun, only report what would be imported). */
export async function importElf(
  store: Store,
  dir: string,
  options: ImportOptions = {},
): Promise<ImportReport> {
  const plan = planElfImport(dir, options);
  const known = await store.importedKeys();
  const unseen = plan.candidates.filter((c) => !c.keys.some((k) => known.has(`elf:${k}`)));
  // Entries holding a secret are left out and reported; the rest are imported. A second run
  // with allowSecrets (or after the source was cleaned) imports them: the import is idempotent.
  const allowSecrets = options.allowSecrets ?? [];
  const inputs = unseen.map((c) =>
    allowSecrets.length === 0 ? c.input : { ...c.input, allowSecrets },
  );
  const allowed = new Set(allowSecrets.map(ruleName));
  const found = await findSecrets(inputs);
  const secrets: { key: string; findings: SecretFinding[] }[] = [];
  const fresh: Candidate[] = [];
  for (const [i, candidate] of unseen.entries()) {
    const refused = found[i]!.filter((f) => !allowed.has(f.rule));
    if (refused.length > 0) secrets.push({ key: candidate.keys[0]!, findings: refused });
    else fresh.push({ ...candidate, input: inputs[i]! });
  }
  let commit: string | null = null;
  if (options.dryRun !== true && fresh.length > 0) {
    const results = await store.recordMany(
      fresh.map((c) => c.input),
      {
        subject: `lessons: import ${fresh.length} records from ${path.basename(plan.source)}`,
        onProgress: options.onProgress,
        lifecycle: fresh.map((c) => c.lifecycle),
      },
    );
    commit = results[0]?.commit ?? null;
  }
  const { candidates: _all, ...rest } = plan;
  return {
    ok: plan.unparseable.length === 0 && secrets.length === 0,
    dryRun: options.dryRun === true,
    ...rest,
    secrets,
    failures: counts(fresh, 'failure'),
    heuristics: counts(fresh, 'heuristic'),
    alreadyImported: plan.candidates.length - unseen.length,
    commit,
  };
}
