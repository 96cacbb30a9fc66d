import { LessonsError } from './LessonsError.js';

/** The writers' lock (or one of git's own lock files) was not obtained in time. Nothing stored. */
export class LockTimeoutError extends LessonsError {
  readonly code = 'LOCK_TIMEOUT';
  readonly exitCode = 3;
}
