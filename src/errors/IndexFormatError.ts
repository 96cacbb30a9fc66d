import { StoreError } from './StoreError.js';

export class IndexFormatError extends StoreError {
  constructor(reason: string) {
    super('GIT_INDEX_UNREADABLE', `the git index cannot be read: ${reason}`);
  }
}
