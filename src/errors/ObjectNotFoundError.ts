import { StoreError } from './StoreError.js';

export class ObjectNotFoundError extends StoreError {
  constructor(oid: string, cause?: unknown) {
    super('GIT_OBJECT_MISSING', `git object ${oid} is missing from the store's repository`, {
      data: { oid },
      cause,
    });
  }
}
