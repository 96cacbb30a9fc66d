// Every error code lessons reports, by the class that carries it. The codes are a stable
// interface: scripts and agents branch on them (`--json` prints them), so a code is added here
// once and never renamed.

/** Input that failed validation, or holds a secret (exit 2). */
export type InvalidInputCode = 'INVALID_INPUT' | 'SECRET_DETECTED';

/** The command was called wrongly, or the store cannot be used as given (exit 2). */
export type UsageCode =
  | 'USAGE'
  | 'NOT_A_STORE'
  | 'STORE_NOT_DIRECTORY'
  | 'STORE_NOT_WRITABLE'
  | 'STORE_SYMLINK'
  | 'STORE_UNSUPPORTED'
  | 'STORE_WRONG_BRANCH'
  | 'PATH_OUTSIDE_STORE'
  | 'AMBIGUOUS_ID'
  | 'IMPORT_SOURCE'
  | 'STORE_CLOSED'
  | 'REMOTE_UNKNOWN'
  | 'CLONE_TARGET_EXISTS';

/** The store was busy for the whole lock timeout (exit 3). */
export type BusyCode = 'LOCK_TIMEOUT';

/** A transaction failed and was rolled back: nothing of it is stored (exit 1). */
export type TransactionCode =
  | 'FILE_EXISTS'
  | 'GIT_LOCKED'
  | 'REF_MOVED'
  | 'LOCK_COMPROMISED'
  | 'IO_ERROR'
  | 'ROLLBACK_FAILED'
  | 'ROLLBACK_INCOMPLETE'
  | 'INJECTED_FAULT';

/** The store is in a state the operation cannot work with (exit 1). */
export type StoreCode =
  | 'NOT_FOUND'
  | 'EVENT_TARGET_MISSING'
  | 'RECORD_UNPARSEABLE'
  | 'SQLITE_CORRUPT'
  | 'INDEX_NOT_A_FILE'
  | 'SQLITE_ROWID'
  | 'SCHEMA_OLD'
  | 'SCHEMA_TOO_NEW'
  | 'GIT_HEAD_MISSING'
  | 'GIT_REF_CORRUPT'
  | 'GIT_OBJECT_MISSING'
  | 'GIT_OBJECT_CORRUPT'
  | 'GIT_INDEX_UNREADABLE'
  | 'GIT_INDEX_UNSUPPORTED';

/** Sync with a remote could not be done; the store holds everything it held before (exit 1). */
export type SyncCode =
  | 'GIT_NOT_FOUND'
  | 'GIT_FAILED'
  | 'FETCH_FAILED'
  | 'PUSH_FAILED'
  | 'PUSH_REJECTED'
  | 'CLONE_FAILED'
  | 'WORKTREE_DIRTY'
  | 'REMOTE_NOT_A_STORE';

/** Something that should be impossible happened: a bug in lessons. */
export type InternalCode = 'INTERNAL';

export type ErrorCode =
  InvalidInputCode | UsageCode | BusyCode | TransactionCode | StoreCode | SyncCode | InternalCode;
