// The read connection of a long-lived Store (an MCP server, an embedding program). Opening
// index.db afresh for every query costs more than the query: at 30k records a search took about
// 120 ms of CPU with a new connection each time (SQLite re-reads the schema and FTS5 structure
// into an empty page cache, and the process faults that memory in anew), against about 6 ms
// on a connection kept open. So the connection is kept, and checked before every use: if
// index.db is no longer the file it was opened on (reindex renamed a new one over it, cleanup
// quarantined it, someone deleted it), or the store lost its .git, it is reopened. Each query
// is its own read transaction in WAL mode, so an open connection sees every commit made since.

import fs from 'node:fs';
import path from 'node:path';
import { Reader } from '../query/reader.js';
import type { StoreLayout } from '../resources/layout.js';

function identity(file: string): string {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  return stat === undefined ? '' : `${stat.dev}:${stat.ino}`;
}

export class ReaderHandle {
  private current: { reader: Reader; identity: string } | undefined;
  /** Readers replaced while a read was using them: closed once no read is in flight. */
  private retired: Reader[] = [];
  private active = 0;

  constructor(
    private readonly dir: string,
    private readonly layout: StoreLayout,
  ) {}

  /** Run `fn` with a reader of the store as it is now. */
  async acquire<T>(fn: (reader: Reader) => T | Promise<T>): Promise<T> {
    const { reader, kept } = await this.open();
    this.active++;
    try {
      return await fn(reader);
    } finally {
      this.active--;
      if (!kept) reader.close();
      if (this.active === 0) for (const old of this.retired.splice(0)) old.close();
    }
  }

  private async open(): Promise<{ reader: Reader; kept: boolean }> {
    const file = identity(this.layout.dbFile);
    const current = this.current;
    if (
      current !== undefined &&
      current.identity === file &&
      fs.existsSync(path.join(this.layout.gitdir, 'HEAD'))
    )
      return { reader: current.reader, kept: true };
    this.retire();
    // Reader.open checks .git/HEAD and the schema; without index.db it reads nothing, and is
    // not kept, so the file is looked for again next time.
    const reader = await Reader.open(this.dir);
    if (file === '') return { reader, kept: false };
    this.current = { reader, identity: file };
    return { reader, kept: true };
  }

  private retire(): void {
    if (this.current === undefined) return;
    if (this.active === 0) this.current.reader.close();
    else this.retired.push(this.current.reader);
    this.current = undefined;
  }

  close(): void {
    this.retire();
    for (const old of this.retired.splice(0)) old.close();
  }
}
