import { LessonsError, type LessonsErrorOptions } from './LessonsError.js';

/** Something that should be impossible happened: a bug in lessons. */
export class InternalError extends LessonsError {
  readonly code = 'INTERNAL';
  readonly exitCode = 1;

  constructor(message: string, options: LessonsErrorOptions = {}) {
    super(`${message} (this is a bug in lessons, please report it)`, options);
  }
}
