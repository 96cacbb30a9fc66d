// One contract, every participant: prepare leaves nothing a reader trusts, commit puts the
// record into effect, rollback (at any point, and twice) leaves the participant's store as it
// was, and recover brings it in line with either outcome, idempotently. Each participant is
// driven directly through the Participant interface, in a real store under the writers' lock,
// with the failure of a step standing in for a fault at every point.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/index.js';
import { FilesParticipant } from '../../src/participants/files.js';
import { GitIndexParticipant } from '../../src/participants/git-index.js';
import { GitParticipant, lastCommit } from '../../src/participants/git.js';
import { SqliteParticipant } from '../../src/participants/sqlite.js';
import type {
  Outcome,
  Participant,
  Transaction,
  WriteContext,
} from '../../src/participants/types.js';
import { prepareRecord } from '../../src/record/markdown.js';
import { validateFailure } from '../../src/record/validate.js';
import type { JournalEntry } from '../../src/resources/journal.js';
import { layoutFor } from '../../src/resources/layout.js';
import { commitMessage } from '../../src/txn/message.js';
import { Writer } from '../../src/txn/writer.js';
import { git, readRows, storeState, tempStore } from '../helpers/store.js';
import { newId } from '../../src/record/ids.js';

type Name = Participant['name'];
const ALL: readonly Name[] = ['files', 'sqlite', 'git', 'index'];

function participants(ctx: WriteContext): Record<Name, Participant> {
  return {
    files: new FilesParticipant(ctx),
    sqlite: new SqliteParticipant(ctx),
    git: new GitParticipant(ctx),
    index: new GitIndexParticipant(ctx),
  };
}

/** A one-record transaction, and the journal entry the coordinator would write for it. */
function transaction(ctx: WriteContext): { txn: Transaction; entry: JournalEntry } {
  const record = prepareRecord(validateFailure({ title: 'contract', domain: 'test' }));
  const txid = newId();
  const txn: Transaction = {
    txid,
    units: [{ records: [record], message: commitMessage([record], txid) }],
    records: [record],
    parent: ctx.repo.head(),
    time: new Date(),
    rowids: new Map(),
  };
  const entry: JournalEntry = {
    version: 1,
    txid,
    owner: ctx.lock.identity,
    created: new Date().toISOString(),
    parent: txn.parent ?? null,
    records: [
      {
        id: record.record.id,
        kind: 'failure',
        path: record.path,
        sha256: record.sha256,
        blobOid: record.blobOid,
      },
    ],
  };
  return { txn, entry };
}

/** What each participant's own store says about the record: in effect, or not. */
function observe(dir: string, name: Name, txn: Transaction): boolean {
  const record = txn.records[0]!;
  switch (name) {
    case 'files':
      return fs.existsSync(path.join(dir, record.path));
    case 'sqlite':
      return readRows(dir).some((r) => r.id === record.record.id);
    case 'git':
      return storeState(dir).head === txn.units[0]!.commit;
    case 'index':
      return git(dir, 'ls-files', '--', record.path).trim() === record.path;
  }
}

/** Files of the transaction that are neither in effect nor gone: temp files. */
function leftovers(dir: string, txn: Transaction): string[] {
  const folder = path.join(dir, path.dirname(txn.records[0]!.path));
  return fs.existsSync(folder) ? fs.readdirSync(folder).filter((n) => n.includes('.tmp-')) : [];
}

/**
 * Run `fn` in a session of a seeded store, with the participants and a transaction. Returns
 * the store's folder, for checks after the session (the lock released).
 */
async function inSession(
  fn: (
    ctx: WriteContext,
    parts: Record<Name, Participant>,
    txn: Transaction,
    entry: JournalEntry,
  ) => Promise<void>,
): Promise<string> {
  const dir = tempStore();
  const store = await openStore({ dir });
  await store.recordFailure({ title: 'seed', domain: 'test' });
  await store.close();
  const writer = new Writer(layoutFor(dir));
  try {
    await writer.run(async (ctx) => {
      const { txn, entry } = transaction(ctx);
      await fn(ctx, participants(ctx), txn, entry);
    });
  } finally {
    await writer.close();
  }
  return dir;
}

/** Every participant up to and including `name`, in the coordinator's order of prepare. */
const upTo = (name: Name): Name[] => ALL.slice(0, ALL.indexOf(name) + 1);

/** The commit phase as the coordinator runs it: main, files, index under index.lock, then SQLite. */
async function commitAll(
  ctx: WriteContext,
  parts: Record<Name, Participant>,
  txn: Transaction,
  only: readonly Name[] = ALL,
): Promise<void> {
  await ctx.gitIndex.acquire(ctx.deadline, async (held) => {
    txn.index = held;
    for (const name of ['git', 'files', 'index'] as const)
      if (only.includes(name)) await parts[name].commit(txn);
    txn.index = undefined;
  });
  if (only.includes('sqlite')) await parts.sqlite.commit(txn);
}

describe.each(ALL)('the %s participant', (name) => {
  it('shows nothing after prepare, and the record after commit', async () => {
    let prepared: boolean | undefined;
    let txnSeen: Transaction | undefined;
    const dir = await inSession(async (ctx, parts, txn) => {
      for (const p of ALL) await parts[p].prepare(txn);
      prepared = observe(ctx.layout.dir, name, txn);
      await commitAll(ctx, parts, txn);
      txnSeen = txn;
    });
    expect(prepared).toBe(false);
    expect(observe(dir, name, txnSeen!)).toBe(true);
    expect(leftovers(dir, txnSeen!)).toEqual([]);
  });

  it.each(['after its prepare', 'after every commit'] as const)(
    'leaves its store as it was when rolled back %s, twice',
    async (when) => {
      let txnSeen: Transaction | undefined;
      let before: ReturnType<typeof storeState> | undefined;
      const dir = await inSession(async (ctx, parts, txn) => {
        before = storeState(ctx.layout.dir);
        for (const p of upTo(name)) await parts[p].prepare(txn);
        if (when === 'after every commit') {
          for (const p of ALL.slice(ALL.indexOf(name) + 1)) await parts[p].prepare(txn);
          await commitAll(ctx, parts, txn);
        }
        // A fault here: the coordinator undoes in its order; this participant twice.
        for (const p of ['sqlite', 'files', 'git', 'index'] as const)
          if (when === 'after every commit' || upTo(name).includes(p)) await parts[p].rollback(txn);
        await parts[name].rollback(txn);
        txnSeen = txn;
      });
      expect(observe(dir, name, txnSeen!)).toBe(false);
      expect(leftovers(dir, txnSeen!)).toEqual([]);
      const after = storeState(dir);
      expect(after.head).toBe(before!.head);
      expect(after.files).toEqual(before!.files);
      expect(after.rows).toEqual(before!.rows);
      expect(after.index).toEqual(before!.index);
    },
  );

  it.each(['committed', 'aborted'] as const)(
    'recovers a transaction a crash left before its commit: %s, twice with the same result',
    async (decision) => {
      let txnSeen: Transaction | undefined;
      const dir = await inSession(async (ctx, parts, txn, entry) => {
        for (const p of ALL) await parts[p].prepare(txn);
        // The crash came after the commit point (main moved), and the rest never ran.
        await ctx.gitIndex.acquire(ctx.deadline, async () => {
          await parts.git.commit(txn);
        });
        await parts.sqlite.rollback(txn); // the process died: its open SQLite transaction is gone
        const commit = lastCommit(txn);
        const outcome: Outcome =
          decision === 'committed'
            ? {
                committed: true,
                commit,
                tree: txn.units[0]!.tree!,
                commits: new Map([[txn.records[0]!.record.id, commit]]),
              }
            : { committed: false, aborted: true, commit, base: txn.parent };
        // Every participant recovers (recovery runs them all), this one twice.
        for (const p of ALL) await participants(ctx)[p].recover(entry, outcome);
        await participants(ctx)[name].recover(entry, outcome);
        txnSeen = txn;
      });
      expect(observe(dir, name, txnSeen!)).toBe(decision === 'committed');
      expect(leftovers(dir, txnSeen!)).toEqual([]);
    },
  );
});
