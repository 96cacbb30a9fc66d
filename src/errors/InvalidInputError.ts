import { LessonsError } from './LessonsError.js';

/** A field of a record (or a flag) failed validation. Nothing was touched. */
export class InvalidInputError extends LessonsError {
  readonly code = 'INVALID_INPUT';
  readonly exitCode = 2;
  /** The field that failed, as the user named it (`title`, `--body-file`, `records[3].domain`). */
  readonly field: string;
  /** What is wrong with it. */
  readonly problem: string;
  /** How to fix it. */
  readonly fix: string;

  constructor(field: string, problem: string, fix: string, data: Record<string, unknown> = {}) {
    super(`${field}: ${problem}. ${fix}`, { data: { field, ...data } });
    this.field = field;
    this.problem = problem;
    this.fix = fix;
  }

  /** The same error for a field nested in `container` (`records[3]`). */
  within(container: string): InvalidInputError {
    const { field: _field, ...rest } = this.data;
    return new InvalidInputError(`${container}.${this.field}`, this.problem, this.fix, rest);
  }
}
