import fs from 'node:fs';
import { TransactionError } from './TransactionError.js';

/** git's own lock file on a ref or the index is held by another process. */
export class GitLockedError extends TransactionError {
  constructor(lockPath: string, cause?: unknown) {
    let since = '';
    try {
      since = ` since ${fs.statSync(lockPath).mtime.toISOString()}`;
    } catch {
      // it may be gone already
    }
    super(
      'GIT_LOCKED',
      `${lockPath} exists${since}: another git process is working in the store. ` +
        'Wait for it to finish and try again; if no git process is running there, remove that file.',
      { data: { lockPath }, cause },
    );
  }
}
