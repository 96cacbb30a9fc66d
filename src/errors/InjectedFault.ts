import { TransactionError } from './TransactionError.js';

/** A test-only fault injected at a named step (LESSONS_TEST_FAIL_AT). */
export class InjectedFault extends TransactionError {
  constructor(step: string) {
    super('INJECTED_FAULT', `injected fault at step "${step}" (LESSONS_TEST_FAIL_AT)`, {
      data: { step },
    });
  }
}
