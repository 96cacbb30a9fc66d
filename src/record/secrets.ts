// Secrets never enter history: every field and the body of a record are scanned with secretlint
// (its recommended rules, and a few of our own in secret-rules.ts) before anything is written.
// A match refuses the record with SECRET_DETECTED (exit 2), naming the field, the rule and the
// line, the secret masked. A person may override one rule for one record (`--allow-secret
// <rule>`, `allowSecrets` in the API); the override is recorded as a commit trailer.
//
// secretlint is loaded on first use: a record pays for it, a reader never does.

import type { SecretLintCoreConfig, SecretLintRuleCreator } from '@secretlint/types';
import { InvalidInputError, SecretDetectedError, type SecretFinding } from '../errors/index.js';
import type { RecordInput } from './types.js';

/** The short name of a rule, as `--allow-secret` takes it: `aws`, `github`, `jwt`, ... */
export function ruleName(ruleId: string): string {
  return ruleId.replace(/^@secretlint\/secretlint-rule-/, '').replace(/^lessons\/secret-rule-/, '');
}

interface Scanner {
  readonly config: SecretLintCoreConfig;
  readonly names: readonly string[];
  readonly lint: typeof import('@secretlint/core').lintSource;
}

let scanner: Promise<Scanner> | undefined;

const FILTER_COMMENTS = '@secretlint/secretlint-rule-filter-comments';

function loadScanner(): Promise<Scanner> {
  scanner ??= (async () => {
    const [core, preset, own, profiler] = await Promise.all([
      import('@secretlint/core'),
      import('@secretlint/secretlint-rule-preset-recommend'),
      import('./secret-rules.js'),
      import('@secretlint/profiler'),
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
    return {
      lint: core.lintSource,
      names: rules.map((r) => ruleName(r.meta.id)),
      config: {
        rules: rules.map((rule) => ({
          id: rule.meta.id,
          rule,
          // AWS access key ids (AKIA...) are found only with this on.
          ...(rule.meta.id === '@secretlint/secretlint-rule-aws'
            ? { options: { enableIDScanRule: true } }
            : {}),
        })),
      },
    };
  })();
  return scanner;
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
  const { lint, config } = await loadScanner();
  const out: SecretFinding[][] = groups.map(() => []);
  const pieces = groups.flatMap((fields, group) => fields.map((f) => ({ ...f, group })));
  for (let from = 0; from < pieces.length;) {
    const batch: (typeof pieces)[number][] = [];
    const starts: number[] = [];
    let content = '';
    while (from < pieces.length && (batch.length === 0 || content.length < BATCH_CHARS)) {
      const piece = pieces[from++]!;
      batch.push(piece);
      starts.push(content.length);
      content += `${piece.text}\n\n`;
    }
    const result = await lint({
      source: { content, filePath: '/lessons-record.md', ext: '.md', contentType: 'text' },
      options: { config, maskSecrets: true, noPhysicFilePath: true },
    });
    for (const message of result.messages) {
      const at = message.range[0];
      let i = starts.length - 1;
      while (i > 0 && starts[i]! > at) i--;
      const { field, text, group } = batch[i]!;
      const offset = at - starts[i]!;
      const before = text.slice(0, offset);
      const secret = content.slice(at, Math.min(message.range[1], starts[i]! + text.length));
      out[group]!.push({
        field,
        rule: ruleName(message.ruleId),
        kind: message.messageId,
        line: before.split('\n').length,
        column: offset - before.lastIndexOf('\n'),
        masked: maskSecret(secret),
      });
    }
  }
  return out;
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

/**
 * Refuse the inputs if any holds a secret that no rule in its `allowSecrets` overrides
 * (SECRET_DETECTED, exit 2), naming every one. Returns, per input, the rules that did override
 * a match, for the commit trailer. `many` names fields `records[i].<field>`.
 */
export async function refuseSecrets(
  inputs: readonly RecordInput[],
  many = inputs.length > 1,
): Promise<string[][]> {
  const prefix = (i: number): string => (many ? `records[${i}].` : '');
  for (const [i, input] of inputs.entries())
    await checkAllowed(input.allowSecrets ?? [], prefix(i));
  const found = await findSecrets(inputs);
  const refused: SecretFinding[] = [];
  const overridden = found.map((findings, i) => {
    const allowed = new Set((inputs[i]!.allowSecrets ?? []).map(ruleName));
    for (const f of findings)
      if (!allowed.has(f.rule)) refused.push({ ...f, field: `${prefix(i)}${f.field}` });
    return [...new Set(findings.filter((f) => allowed.has(f.rule)).map((f) => f.rule))];
  });
  if (refused.length > 0) throw new SecretDetectedError(refused);
  return overridden;
}
