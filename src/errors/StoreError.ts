import type { StoreCode } from './codes.js';
import { LessonsError, type LessonsErrorOptions } from './LessonsError.js';

/**
 * The store is in a state the operation cannot work with (a corrupt object, an unreadable
 * index, a HEAD on another branch). Nothing was changed by the failing operation.
 */
export class StoreError extends LessonsError {
  readonly exitCode = 1;
  readonly code: StoreCode;

  constructor(code: StoreCode, message: string, options: LessonsErrorOptions = {}) {
    super(message, options);
    this.code = code;
  }
}
