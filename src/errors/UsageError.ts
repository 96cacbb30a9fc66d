import type { UsageCode } from './codes.js';
import { LessonsError, type LessonsErrorOptions } from './LessonsError.js';

/** The command was called wrongly or the store cannot be used as given. Nothing was touched. */
export class UsageError extends LessonsError {
  readonly exitCode = 2;
  readonly code: UsageCode;

  constructor(code: UsageCode, message: string, options: LessonsErrorOptions = {}) {
    super(message, options);
    this.code = code;
  }
}
