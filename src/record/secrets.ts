// Secrets never enter history: every field and the body of a record are scanned with secretlint
// (its recommended rules, and a few of our own in secret-rules.ts) before anything is written.
// A match refuses the record with SECRET_DETECTED (exit 2), naming the field, the rule and the
// line, the secret masked. A person may override one rule for one record (`--allow-secret
// <rule>`, `allowSecrets` in the API); the override is recorded as a commit trailer.
//
// secretlint is loaded on first use: a record pays for it, a reader never does.

import type { SecretLintCoreConfig, SecretLintRuleCreator } from '@secretlint/types';
import { InvalidInputError, SecretDetectedError, type SecretFinding } from '../errors/index.js';
import { sha256 } from '../git/hash.js';
import type { LessonRecord, RecordInput } from './types.js';

/** The short name of a rule, as `--allow-secret` takes it: `aws`, `github`, `jwt`, ... */
export function ruleName(ruleId: string): string {
  return ruleId.replace(/^@secretlint\/secretlint-rule-/, '').replace(/^lessons\/secret-rule-/, '');
}

interface Scanner {
  readonly config: SecretLintCoreConfig;
  readonly names: readonly string[];
  readonly lint: typeof import('@secretlint/core').lintSource;
  /** What the rules are: the engine's and the preset's versions, every rule and its options. */
  readonly fingerprint: string;
}

let scanner: Promise<Scanner> | undefined;

const FILTER_COMMENTS = '@secretlint/secretlint-rule-filter-comments';

function loadScanner(): Promise<Scanner> {
  scanner ??= (async () => {
    const [core, preset, own, profiler, corePackage, presetPackage] = await Promise.all([
      import('@secretlint/core'),
      import('@secretlint/secretlint-rule-preset-recommend'),
      import('./secret-rules.js'),
      import('@secretlint/profiler'),
      import('@secretlint/core/package.json', { with: { type: 'json' } }),
      import('@secretlint/secretlint-rule-preset-recommend/package.json', {
        with: { type: 'json' },
      }),
    ]);
    // secretlint marks every rule run on the global performance timeline and keeps each mark
    // in its profiler: a long-lived process (an MCP server, a bulk import) would grow and slow
    // with every record. We never read the profile, so the marks are switched off.
    profiler.secretLintProfiler.mark = () => undefined;
    // The preset's comment filter (`secretlint-disable` in the text) is left out: text a
    // person writes into a record must not be able to switch the scan off.
    const rules = [
      ...(preset.rules as unknown as SecretLintRuleCreator[]).filter(
        (r) => r.meta.type === 'scanner' && r.meta.id !== FILTER_COMMENTS,
      ),
      ...own.LESSONS_SECRET_RULES,
    ];
    const config = {
      rules: rules.map((rule) => ({
        id: rule.meta.id,
        rule,
        // AWS access key ids (AKIA...) are found only with this on.
        ...(rule.meta.id === '@secretlint/secretlint-rule-aws'
          ? { options: { enableIDScanRule: true } }
          : {}),
      })),
    };
    const fingerprint = sha256(
      Buffer.from(
        JSON.stringify({
          core: corePackage.default.version,
          preset: presetPackage.default.version,
          rules: config.rules.map((r) => [r.id, 'options' in r ? r.options : null]),
          own: own.LESSONS_SECRET_PATTERNS.map((p) => [p.id, p.pattern.source, p.pattern.flags]),
          revision: own.LESSONS_RULES_REVISION,
        }),
      ),
    ).slice(0, 16);
    return {
      lint: core.lintSource,
      names: rules.map((r) => ruleName(r.meta.id)),
      config,
      fingerprint,
    };
  })();
  return scanner;
}

/**
 * The scan's fingerprint: it changes with secretlint's version, the preset's, and any rule or
 * option of ours. A row marked with it (record_scans) passed this very scan.
 */
export async function scanFingerprint(): Promise<string> {
  return (await loadScanner()).fingerprint;
}

/** The columns of a record's row that hold text a person wrote. */
export interface RowTexts {
  readonly kind: string;
  readonly title: string;
  readonly domain: string;
  /** A JSON array. */
  readonly tags: string;
  readonly body: string;
  readonly source_id: string | null;
  readonly imported_from: string | null;
}

/** A record's texts as its row in index.db holds them (db/database.ts rowFromRecord). */
export function rowTexts(record: LessonRecord): RowTexts {
  return {
    kind: record.kind,
    title: record.title,
    domain: record.domain,
    tags: JSON.stringify(record.tags),
    body: record.body,
    source_id: record.kind === 'heuristic' ? (record.sourceId ?? null) : null,
    imported_from: record.importedFrom === undefined ? null : JSON.stringify(record.importedFrom),
  };
}

/** The texts of a row as the scan reads them, by the names a person gives them. */
export function rowFields(row: RowTexts): { field: string; text: string }[] {
  const fields = [
    { field: row.kind === 'heuristic' ? 'rule' : 'title', text: row.title },
    { field: 'domain', text: row.domain },
    { field: 'tags', text: (JSON.parse(row.tags) as string[]).join(',') },
    { field: 'body', text: row.body },
  ];
  if (row.source_id !== null) fields.push({ field: 'sourceId', text: row.source_id });
  if (row.imported_from !== null) fields.push({ field: 'importedFrom', text: row.imported_from });
  return fields;
}

/** The rules a record is scanned with, by short name. */
export async function secretRuleNames(): Promise<readonly string[]> {
  return (await loadScanner()).names;
}

/** A secret shown as its first few characters, the rest starred. */
export function maskSecret(secret: string): string {
  const chars = [...secret];
  const shown = Math.min(4, Math.floor(chars.length / 5));
  const hidden = chars.length - shown;
  return `${chars.slice(0, shown).join('')}${'*'.repeat(Math.min(hidden, 32))}${hidden > 32 ? `… (${chars.length} characters)` : ''}`;
}

/** The text fields of an input, by the name a person gave them. */
function fieldsOf(input: RecordInput): { field: string; text: string }[] {
  const fields: { field: string; text: string }[] = [];
  const add = (field: string, value: unknown): void => {
    if (typeof value === 'string' && value !== '') fields.push({ field, text: value });
    else if (Array.isArray(value)) add(field, value.filter((v) => typeof v === 'string').join(','));
    else if (typeof value === 'number') add(field, String(value));
  };
  if (input.kind === 'failure') {
    add('title', input.title);
    add('domain', input.domain);
    add('severity', input.severity);
    add('summary', input.summary);
    add('whatHappened', input.whatHappened);
    add('rootCause', input.rootCause);
    add('impact', input.impact);
    add('prevention', input.prevention);
  } else {
    add('rule', input.rule);
    add('domain', input.domain);
    add('explanation', input.explanation);
    add('source', input.source);
    add('confidence', input.confidence);
    add('sourceId', input.sourceId);
  }
  add('tags', input.tags);
  add('body', input.body);
  if (input.importedFrom !== undefined) add('importedFrom', JSON.stringify(input.importedFrom));
  return fields;
}

/** Characters of text per secretlint pass: one pass costs about a millisecond, whatever its size. */
const BATCH_CHARS = 1 << 20;

/**
 * Every secret in each group of named texts (a record's fields), in order; each finding names
 * its field and the line within it (from 1). The texts go through secretlint in as few passes
 * as their size allows (each field on lines of its own), mapped back afterwards.
 */
export async function scanGroups(
  groups: readonly (readonly { field: string; text: string }[])[],
): Promise<SecretFinding[][]> {
  return (await scanTouching(groups)).found;
}

/**
 * scanGroups, and for each group whether any match touched its texts at all: a match is
 * reported in the field where it starts, but may run on into the next group's texts (the
 * passes join them), and a group it ran into is not known to be clean.
 */
async function scanTouching(
  groups: readonly (readonly { field: string; text: string }[])[],
): Promise<{ found: SecretFinding[][]; touched: boolean[] }> {
  const { lint, config } = await loadScanner();
  const found: SecretFinding[][] = groups.map(() => []);
  const touched = groups.map(() => false);
  const fields: string[] = [];
  const texts: string[] = [];
  const owners: number[] = [];
  for (const [group, list] of groups.entries())
    for (const f of list) {
      fields.push(f.field);
      texts.push(f.text);
      owners.push(group);
    }
  for (let from = 0; from < texts.length;) {
    const first = from;
    const starts: number[] = [];
    const parts: string[] = [];
    let length = 0;
    while (from < texts.length && (from === first || length < BATCH_CHARS)) {
      starts.push(length);
      parts.push(texts[from]!, '\n\n');
      length += texts[from++]!.length + 2;
    }
    const content = parts.join('');
    const result = await lint({
      source: { content, filePath: '/lessons-record.md', ext: '.md', contentType: 'text' },
      options: { config, maskSecrets: true, noPhysicFilePath: true },
    });
    for (const message of result.messages) {
      const [at, end] = message.range;
      let i = starts.length - 1;
      while (i > 0 && starts[i]! > at) i--;
      for (let j = i; j < starts.length && starts[j]! < Math.max(end, at + 1); j++)
        touched[owners[first + j]!] = true;
      const text = texts[first + i]!;
      const offset = at - starts[i]!;
      const before = text.slice(0, offset);
      const secret = content.slice(at, Math.min(end, starts[i]! + text.length));
      found[owners[first + i]!]!.push({
        field: fields[first + i]!,
        rule: ruleName(message.ruleId),
        kind: message.messageId,
        line: before.split('\n').length,
        column: offset - before.lastIndexOf('\n'),
        masked: maskSecret(secret),
      });
    }
  }
  return { found, touched };
}

/** Every secret in the fields of each input. */
export async function findSecrets(inputs: readonly RecordInput[]): Promise<SecretFinding[][]> {
  return scanGroups(inputs.map(fieldsOf));
}

async function checkAllowed(allow: readonly string[], field: string): Promise<void> {
  if (allow.length === 0) return;
  const names = await secretRuleNames();
  for (const rule of allow)
    if (!names.includes(ruleName(rule)))
      throw new InvalidInputError(
        `${field}allowSecrets`,
        `${JSON.stringify(rule)} is not a secret rule`,
        `Use one of ${names.join(', ')}.`,
      );
}

/** What the scan of a batch of inputs found that a writer keeps. */
export interface Refusal {
  /** Per input, the rules that did override a match (its commit trailer). */
  readonly overridden: string[][];
  /**
   * Per row given, the fingerprint of the scan when its texts were clean (no match touched
   * them): the row's mark (record_scans); undefined when they were not.
   */
  readonly marks: (string | undefined)[];
}

/**
 * Refuse the inputs if any holds a secret that no rule in its `allowSecrets` overrides
 * (SECRET_DETECTED, exit 2), naming every one. `many` names fields `records[i].<field>`.
 * `rows` (the texts of each input's row, as verify reads them) are scanned in the same passes,
 * after the inputs: a match can run on into the text after it, never back, so nothing in a row
 * can hide a secret of an input.
 */
export async function refuseSecrets(
  inputs: readonly RecordInput[],
  many = inputs.length > 1,
  rows: readonly RowTexts[] = [],
): Promise<Refusal> {
  const prefix = (i: number): string => (many ? `records[${i}].` : '');
  for (const [i, input] of inputs.entries())
    await checkAllowed(input.allowSecrets ?? [], prefix(i));
  const { fingerprint } = await loadScanner();
  const { found: all, touched } = await scanTouching([
    ...inputs.map(fieldsOf),
    ...rows.map(rowFields),
  ]);
  const found = all.slice(0, inputs.length);
  const refused: SecretFinding[] = [];
  const overridden = found.map((findings, i) => {
    const allowed = new Set((inputs[i]!.allowSecrets ?? []).map(ruleName));
    for (const f of findings)
      if (!allowed.has(f.rule)) refused.push({ ...f, field: `${prefix(i)}${f.field}` });
    return [...new Set(findings.filter((f) => allowed.has(f.rule)).map((f) => f.rule))];
  });
  if (refused.length > 0) throw new SecretDetectedError(refused);
  return {
    overridden,
    marks: rows.map((_, i) => (touched[inputs.length + i] ? undefined : fingerprint)),
  };
}
