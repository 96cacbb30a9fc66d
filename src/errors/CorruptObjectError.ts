import { StoreError } from './StoreError.js';

export class CorruptObjectError extends StoreError {
  constructor(oid: string, reason: string, cause?: unknown) {
    super('GIT_OBJECT_CORRUPT', `git object ${oid} is corrupt: ${reason}`, {
      data: { oid },
      cause,
    });
  }
}
