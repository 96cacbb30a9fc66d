// `lessons stats`: what a store holds: counts by kind, domain and month, its size on disk and its
// last commit.

import fs from 'node:fs';
import path from 'node:path';
import { readCommit } from '../git/commit.js';
import { GitRepository } from '../git/repository.js';
import type { Reader } from './reader.js';

export interface StoreStats {
  readonly records: number;
  readonly byKind: Record<string, number>;
  readonly byDomain: Record<string, number>;
  /** "YYYY-MM" -> records created that month. */
  readonly byMonth: Record<string, number>;
  /** Bytes on disk: the whole store, and its parts. */
  readonly size: {
    readonly total: number;
    readonly git: number;
    readonly index: number;
    readonly records: number;
  };
  readonly lastCommit: {
    readonly id: string;
    readonly subject: string;
    readonly date: string;
  } | null;
}

function bytesUnder(dir: string): number {
  let total = 0;
  const walk = (p: string): void => {
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(p);
    } catch {
      return;
    }
    if (stat.isDirectory()) for (const name of fs.readdirSync(p)) walk(path.join(p, name));
    else total += stat.size;
  };
  walk(dir);
  return total;
}

function grouped(reader: Reader, expression: string): Record<string, number> {
  return Object.fromEntries(
    reader
      .scalar<{ key: string; n: number }>(
        `SELECT ${expression} AS key, count(*) AS n FROM records GROUP BY key ORDER BY key`,
      )
      .map((r) => [r.key, r.n]),
  );
}

/** Each domain with its number of records, the busiest first. */
export function domainCounts(reader: Reader): { domain: string; records: number }[] {
  return reader.scalar<{ domain: string; records: number }>(
    'SELECT domain, count(*) AS records FROM records GROUP BY domain ORDER BY records DESC, domain',
  );
}

export async function storeStats(reader: Reader): Promise<StoreStats> {
  const { layout } = reader;
  const repo = new GitRepository(layout.dir);
  const head = repo.head();
  const commit = head === undefined ? undefined : await readCommit(repo.objects, head);
  const byKind = grouped(reader, 'kind');
  const index = ['', '-wal', '-shm'].reduce((n, s) => n + bytesUnder(`${layout.dbFile}${s}`), 0);
  const git = bytesUnder(layout.gitdir);
  const records =
    bytesUnder(path.join(layout.dir, 'failures')) + bytesUnder(path.join(layout.dir, 'heuristics'));
  return {
    records: Object.values(byKind).reduce((a, b) => a + b, 0),
    byKind,
    byDomain: grouped(reader, 'domain'),
    byMonth: grouped(reader, 'substr(created, 1, 7)'),
    size: { total: bytesUnder(layout.dir), git, index, records },
    lastCommit:
      commit === undefined || head === undefined
        ? null
        : {
            id: head,
            subject: commit.message.split('\n')[0] ?? '',
            date: new Date(commit.time * 1000).toISOString(),
          },
  };
}
