import type { SyncCode } from './codes.js';
import { LessonsError, type LessonsErrorOptions } from './LessonsError.js';

/**
 * Sync with a remote could not be done (git missing, the remote unreachable, pushes rejected
 * past the bound, a person's edit in the way). Whatever was integrated before the failure is
 * stored whole; nothing fetched or recorded locally is lost.
 */
export class SyncError extends LessonsError {
  readonly exitCode = 1;
  readonly code: SyncCode;

  constructor(code: SyncCode, message: string, options: LessonsErrorOptions = {}) {
    super(message, options);
    this.code = code;
  }
}
