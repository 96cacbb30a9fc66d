import { StoreError } from './StoreError.js';

export class SqliteCorruptError extends StoreError {
  constructor(file: string, cause: unknown) {
    super(
      'SQLITE_CORRUPT',
      `${file} is not a readable SQLite database (${(cause as Error).message}). ` +
        'It is only an index: run `lessons reindex` (or `lessons cleanup`) to rebuild it from git.',
      { data: { file }, cause },
    );
  }
}
