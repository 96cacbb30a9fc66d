import { StoreError } from './StoreError.js';

/** The index uses a feature this tool does not edit in place (split index, sparse index). */
export class UnsupportedIndexError extends StoreError {
  constructor(reason: string) {
    super('GIT_INDEX_UNSUPPORTED', `the git index uses ${reason}`);
  }
}
