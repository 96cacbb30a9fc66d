import { LessonsError } from './LessonsError.js';

/** One secret found in a record, never with its value: `masked` shows only its first characters. */
export interface SecretFinding {
  /** The field, as the caller named it (`summary`, `records[2].body`). */
  readonly field: string;
  /** The rule that matched, by the name `--allow-secret` takes (`aws`, `jwt`). */
  readonly rule: string;
  /** What the rule found (`AWSSecretAccessKey`). */
  readonly kind: string;
  /** Line within the field, from 1. */
  readonly line: number;
  /** Column within that line, from 1. */
  readonly column: number;
  readonly masked: string;
}

/** A record holds something that looks like a secret: refused before anything was written. */
export class SecretDetectedError extends LessonsError {
  readonly code = 'SECRET_DETECTED';
  readonly exitCode = 2;
  readonly findings: readonly SecretFinding[];

  constructor(findings: readonly SecretFinding[]) {
    const list = findings
      .map((f) => `${f.field} line ${f.line}: ${f.kind} (rule ${f.rule}) ${f.masked}`)
      .join('; ');
    const rules = [...new Set(findings.map((f) => f.rule))];
    super(
      `refusing to store a secret, nothing was written: ${list}. ` +
        'Remove it (and rotate it if it is real: a git history does not forget); if it is not a secret, ' +
        `pass ${rules.map((r) => `--allow-secret ${r}`).join(' ')} for this record.`,
      { data: { findings } },
    );
    this.findings = findings;
  }
}
