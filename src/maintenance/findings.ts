// What verify can find, each with a stable code, and the one-line fix it suggests.

export const FINDING_HINTS = {
  SQLITE_CORRUPT: 'index.db is only an index: run `lessons reindex` (or `lessons cleanup`).',
  INDEX_NOT_A_FILE:
    'index.db is only an index: run `lessons reindex` (it moves the directory into .lessons/quarantine/ and rebuilds the file), or move it away yourself.',
  GIT_OBJECT_CORRUPT:
    'run `lessons cleanup` (it rewrites a blob whose file is intact); otherwise restore the object from a clone or backup (`git fsck` lists them).',
  GIT_INDEX_STALE: 'run `lessons cleanup` to rebuild .git/index from HEAD.',
  JOURNAL_PENDING:
    'a transaction was left by a crash: run `lessons recover` (or `lessons cleanup`).',
  ROW_MISSING: 'run `lessons cleanup` to rebuild the row from the committed file.',
  ROW_ORPHAN: 'run `lessons cleanup` to remove a row that no commit holds.',
  BLOB_MISMATCH: 'run `lessons cleanup` to rewrite the row from the committed file.',
  FIELD_MISMATCH:
    'run `lessons cleanup`: the committed version is restored and the edited file quarantined.',
  FILE_MISSING: 'run `lessons cleanup` to restore the file from HEAD.',
  FILE_MODIFIED: 'run `lessons cleanup` to commit the edit as an update (or restore it with git).',
  FILE_UNPARSEABLE:
    'run `lessons cleanup`: the file is quarantined and the committed version restored.',
  FILE_UNTRACKED:
    'record it with `lessons record-*`, or let `lessons cleanup` quarantine it once older than --grace.',
  TEMP_FILE: 'left by an interrupted write: `lessons cleanup` quarantines it.',
  SECRET_IN_HISTORY:
    'rotate the secret now: it is in git history, which does not forget. Then remove it from the record (edit the file; `lessons cleanup` commits the edit) or rewrite the history.',
  STORE_SYMLINK:
    'a symbolic link in a record folder: `lessons cleanup` moves the link itself to quarantine and restores the folder from HEAD.',
  EVENT_TARGET_MISSING:
    'a lifecycle event names a record HEAD does not hold (removed by hand, or not synced yet): restore the record with git, or move the event out with git rm.',
  FOLD_MISMATCH:
    "run `lessons cleanup` (or `lessons reindex`) to fold the record's events into its row again.",
  SYNC_CONFLICT:
    "a sync found this path changed here and on the remote: HEAD holds the remote's version, the local one is the blob the message names (`git show <blob>`). Keep HEAD, or write the local version back and let `lessons cleanup` commit it; then `lessons resolve <id>` (docs/sync.md).",
  REMOTE_UNREACHABLE:
    'the remote could not be fetched: check its URL (`lessons remote list`), the network and your access (ssh keys, credentials), then verify again.',
  REMOTE_UNPARSEABLE:
    "the remote's history holds a file a sync would refuse or could not index: fix it where it was written (edit or git rm, then push), before this store syncs.",
  STORE_WRONG_BRANCH:
    'the store is checked out on another branch: run `git checkout main` in the store (lessons commits to main).',
} as const;

export type FindingCode = keyof typeof FINDING_HINTS;

export interface Finding {
  readonly code: FindingCode;
  /** The record's path relative to the store (or the file concerned), when there is one. */
  readonly path?: string;
  /** The record's ULID, when known. */
  readonly id?: string;
  readonly message: string;
  readonly hint: string;
}

export function finding(
  code: FindingCode,
  message: string,
  where: { path?: string | undefined; id?: string | undefined } = {},
): Finding {
  return {
    code,
    ...(where.path === undefined ? {} : { path: where.path }),
    ...(where.id === undefined ? {} : { id: where.id }),
    message,
    hint: FINDING_HINTS[code],
  };
}

export function findingKey(f: Finding): string {
  return `${f.code}\u0000${f.path ?? ''}`;
}
