import { LessonsError, type LessonsErrorOptions } from './LessonsError.js';

/**
 * Something that should be impossible happened: a bug in lessons. Exit 70 (sysexits'
 * EX_SOFTWARE), so CI tells a crash from findings (1). Nothing is stored on 70 either.
 */
export class InternalError extends LessonsError {
  readonly code = 'INTERNAL';
  readonly exitCode = 70;

  constructor(message: string, options: LessonsErrorOptions = {}) {
    super(`${message} (this is a bug in lessons, please report it)`, options);
  }
}
