// The write connection to index.db, one per Store: kept open across transactions (opening
// costs more than a record), and reopened when the file it was opened on was replaced (a
// reindex renames a new file over it) or removed.

import fs from 'node:fs';
import { Database } from '../db/database.js';

function identity(file: string): string {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  return stat === undefined ? '' : `${stat.dev}:${stat.ino}`;
}

export class DatabaseConnection {
  private readonly file: string;
  private database: Database | undefined;
  private identity = '';

  constructor(file: string) {
    this.file = file;
  }

  /**
   * Run `fn` with the open write connection (migrated to the current schema). `created` tells
   * whether index.db was new, so the caller can fill it. The caller holds the writers' lock.
   */
  async acquire<T>(fn: (db: Database, created: boolean) => Promise<T>): Promise<T> {
    let created = false;
    const now = identity(this.file);
    if (this.database === undefined || now !== this.identity || now === '') {
      this.close();
      const opened = Database.openForWrite(this.file);
      this.database = opened.database;
      this.identity = identity(this.file);
      created = opened.created;
    }
    return fn(this.database, created);
  }

  close(): void {
    this.database?.close();
    this.database = undefined;
    this.identity = '';
  }
}
