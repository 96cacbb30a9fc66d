export { LessonsError, type ExitCode, type LessonsErrorOptions } from './LessonsError.js';
export { InvalidInputError } from './InvalidInputError.js';
export { UsageError } from './UsageError.js';
export { LockTimeoutError } from './LockTimeoutError.js';
export { TransactionError } from './TransactionError.js';
export { StoreError } from './StoreError.js';
export { InternalError } from './InternalError.js';
export { SecretDetectedError, type SecretFinding } from './SecretDetectedError.js';
