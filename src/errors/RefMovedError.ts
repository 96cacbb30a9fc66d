import { TransactionError } from './TransactionError.js';

export class RefMovedError extends TransactionError {
  constructor(ref: string, expected: string | undefined, actual: string | undefined) {
    super(
      'REF_MOVED',
      `${ref} moved while the transaction ran (expected ${expected ?? 'no commit'}, found ${actual ?? 'no commit'}): ` +
        'someone else committed to the store. Nothing was stored; run the command again.',
      { data: { ref, expected: expected ?? null, actual: actual ?? null } },
    );
  }
}
