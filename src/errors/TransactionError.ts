import type { TransactionCode } from './codes.js';
import { LessonsError, type LessonsErrorOptions } from './LessonsError.js';

/**
 * A transaction failed and was rolled back: nothing of it is stored. `code` says why
 * (`GIT_LOCKED`, `REF_MOVED`, `LOCK_COMPROMISED`, `IO_ERROR`, `INJECTED_FAULT`, ...).
 */
export class TransactionError extends LessonsError {
  readonly exitCode = 1;
  readonly code: TransactionCode;

  constructor(code: TransactionCode, message: string, options: LessonsErrorOptions = {}) {
    super(message, options);
    this.code = code;
  }
}
