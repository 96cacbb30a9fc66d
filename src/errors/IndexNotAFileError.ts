import { StoreError } from './StoreError.js';

/** index.db is something other than a file (a directory, a socket): a store problem. */
export class IndexNotAFileError extends StoreError {
  constructor(file: string, what: string) {
    super(
      'INDEX_NOT_A_FILE',
      `${file} is ${what}, not the SQLite index file. index.db is only an index of git: ` +
        `move it out of the way (\`mv ${file} ${file}.bad\`), or run \`lessons reindex\`, which moves it into .lessons/quarantine/ and rebuilds the index from git.`,
      { data: { file } },
    );
  }
}
