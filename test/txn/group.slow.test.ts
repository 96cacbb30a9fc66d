// Group commit across processes, with real CLI writers: a crowd waiting behind a lock holder is
// committed as one transaction of one commit per record; a group's leader killed with SIGKILL
// at every step leaves each member with exit 0 and its record whole, or a non-zero exit and
// nothing stored; a member killed while it waits leaves nothing.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { scanFingerprint } from '../../src/record/secrets.js';
import type { RecordResult } from '../../src/record/types.js';
import { openStore, type Store } from '../../src/index.js';
import { TXN_STEPS } from '../../src/util/faults.js';
import { auditStore } from '../../stress/lib/audit.js';
import { holdAt } from '../helpers/hold.js';
import { libraryOf, runLongLived } from '../../stress/lib/group.js';
import {
  ROOT,
  runLessons,
  startWriter,
  type RunningWriter,
  type WriterOutcome,
} from '../helpers/writers.js';
import {
  AFTER_REF,
  consistencyProblems,
  git,
  storeState,
  seededByCli,
  tempStore,
} from '../helpers/store.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What group commit left in `.lessons/group/`: waiting marks (w-), outcomes (o-), the socket. */
function groupFiles(dir: string, kind?: 'w' | 'o'): string[] {
  try {
    return fs
      .readdirSync(path.join(dir, '.lessons', 'group'))
      .filter((n) => kind === undefined || n.startsWith(`${kind}-`));
  } catch {
    return [];
  }
}

/** Resolves once a writer holds the writers' lock. */
async function lockTaken(dir: string): Promise<void> {
  while (!fs.existsSync(path.join(dir, '.lessons', 'lock', 'owner.json'))) await sleep(10);
}

/**
 * Resolves once `count` waiters have sent their records to the holder (each marks itself
 * waiting just before), or once `until` settles (on a loaded machine a process may take
 * seconds to start).
 */
async function offered(dir: string, count: number, until?: Promise<unknown>): Promise<void> {
  let over = false;
  void until?.finally(() => (over = true));
  while (!over && groupFiles(dir, 'w').length < count) await sleep(20);
}

/** Resolves once `count` other writers wait in the writers' lock's line (or `until` settles). */
async function inLine(dir: string, count: number, until?: Promise<unknown>): Promise<void> {
  let over = false;
  void until?.finally(() => (over = true));
  const line = path.join(dir, '.lessons', 'lock.d');
  const tickets = (): number => {
    try {
      return fs.readdirSync(line).filter((n) => n.startsWith('q-')).length;
    } catch {
      return 0;
    }
  };
  while (!over && tickets() < count) await sleep(20);
}

/** Commits on main, newest first: subject, Lessons-Id trailers, Lessons-Txid, changed paths. */
function history(dir: string): { oid: string; ids: string[]; txid: string; paths: string[] }[] {
  const out = git(dir, 'log', '--format=%x00%H%x01%B%x01', '--name-only', 'main');
  return out
    .split('\0')
    .filter((c) => c.trim() !== '')
    .map((chunk) => {
      const [oid, body, names] = chunk.split('\x01') as [string, string, string];
      return {
        oid,
        ids: [...body.matchAll(/^Lessons-Id: (\S+)$/gm)].map((m) => m[1]!),
        txid: /^Lessons-Txid: (\S+)$/m.exec(body)?.[1] ?? '',
        paths: names.split('\n').filter((n) => n !== ''),
      };
    });
}

/** Every exit-0 writer's commit holds its record alone, with its trailers, on main. */
function ownCommits(dir: string, outcomes: readonly WriterOutcome[]): void {
  const byOid = new Map(history(dir).map((c) => [c.oid, c]));
  for (const o of outcomes.filter((w) => w.code === 0)) {
    const commit = byOid.get(o.json!.commit!);
    expect(commit, `${o.spec.title}: commit ${o.json!.commit} is on main`).toBeDefined();
    expect(commit!.ids).toEqual([o.json!.id]);
    expect(commit!.paths).toEqual([o.json!.path]);
  }
}

function nativelyClean(dir: string): void {
  execFileSync('git', ['-C', dir, 'fsck', '--strict'], { stdio: 'pipe' });
  expect(git(dir, 'status', '--porcelain')).toBe('');
}

/** The pid of the writers' lock's holder, if any. */
function lockOwner(dir: string): number | undefined {
  try {
    const owner = fs.readFileSync(path.join(dir, '.lessons', 'lock', 'owner.json'), 'utf8');
    return (JSON.parse(owner) as { pid: number }).pid;
  } catch {
    return undefined;
  }
}

/**
 * This process (`store`) takes the lock for a record and stops before its group until a CLI
 * writer waits in line behind it, so that it serves that writer.
 */
async function leadWithOneInLine(
  dir: string,
  store: Store,
): Promise<{ own: Promise<RecordResult>; member: RunningWriter }> {
  const hold = holdAt('claim');
  process.env.LESSONS_TEST_HOLD_AT = hold.env.LESSONS_TEST_HOLD_AT;
  let own: Promise<RecordResult>;
  try {
    own = store.recordFailure({ title: 'holder', domain: 'group' });
    await hold.reached();
  } finally {
    delete process.env.LESSONS_TEST_HOLD_AT;
  }
  const member = startWriter({ dir, kind: 'failure', title: 'member' });
  await inLine(dir, 1, member.done);
  hold.release();
  return { own, member };
}

describe('group commit of CLI writers', () => {
  it('commits a crowd waiting behind a holder as one group of one commit per record', async () => {
    const dir = await seededByCli();
    const holder = startWriter({
      dir,
      kind: 'failure',
      title: 'holder',
      env: { LESSONS_TEST_DELAY_AT: 'locked:4000' },
    });
    await lockTaken(dir);
    const crowd: RunningWriter[] = Array.from({ length: 8 }, (_, i) =>
      startWriter({ dir, kind: i % 2 === 0 ? 'failure' : 'heuristic', title: `member ${i}` }),
    );
    const outcomes = await Promise.all([holder.done, ...crowd.map((w) => w.done)]);
    for (const o of outcomes) expect(o.code, o.stderr).toBe(0);

    const audit = auditStore(dir, outcomes);
    expect(audit.problems).toEqual([]);
    expect(audit.exit0).toBe(9);
    expect(audit.inFiles + audit.inRows + audit.inCommits).toBe(27);
    ownCommits(dir, outcomes);
    // The members arrived while the holder held the lock: at least one group formed.
    const txids = new Map<string, number>();
    for (const c of history(dir)) txids.set(c.txid, (txids.get(c.txid) ?? 0) + 1);
    expect(Math.max(...txids.values())).toBeGreaterThan(1);
    // Each member's secret scan crossed over with its records: every row is marked scanned.
    const db = new BetterSqlite3(path.join(dir, 'index.db'), { readonly: true });
    const unmarked = db
      .prepare(
        'SELECT count(*) FROM records r LEFT JOIN record_scans s ON s.rowid_ref = r.rowid WHERE s.rules IS NOT ?',
      )
      .pluck()
      .get(await scanFingerprint());
    db.close();
    expect(unmarked).toBe(0);
    expect(consistencyProblems(dir)).toEqual([]);
    nativelyClean(dir);
    expect(groupFiles(dir)).toEqual([]);
  });
});

describe('SIGKILL of a group leader', () => {
  it.each(TXN_STEPS.map((s) => [s]))(
    'at "%s": every member exits 0 with its record whole, the store verifies clean',
    async (step) => {
      const dir = await seededByCli();
      // The leader holds the lock and gathers the members before it claims them.
      const leader = startWriter({
        dir,
        kind: 'failure',
        title: 'leader',
        env: { LESSONS_TEST_DELAY_AT: 'claim:5000', LESSONS_TEST_KILL_AT: step },
      });
      await lockTaken(dir);
      const members = Array.from({ length: 3 }, (_, i) =>
        startWriter({ dir, kind: 'failure', title: `member ${i}`, lockTimeout: '30s' }),
      );
      await offered(dir, 3, leader.done);
      const killed = await leader.done;
      expect(killed.signal).toBe('SIGKILL');
      const outcomes = await Promise.all(members.map((m) => m.done));
      for (const o of outcomes) expect(o.code, o.stderr).toBe(0);

      // Members answered before the leader died (step "answered") exit without the lock: the
      // leader's entry, already whole in all three stores, waits for the next command.
      expect((await runLessons(['--dir', dir, 'recover'])).code).toBe(0);
      const all = [killed, ...outcomes];
      const audit = auditStore(dir, all);
      expect(audit.problems).toEqual([]);
      expect(audit.exit0Missing).toBe(0);
      expect(audit.halfPresent).toBe(0);
      ownCommits(dir, outcomes);
      const state = storeState(dir);
      expect(state.rows.some((r) => r.title === 'leader')).toBe(AFTER_REF.has(step));
      if (AFTER_REF.has(step)) {
        // The leader's group was rolled forward: members it had claimed share its txid.
        const commits = history(dir);
        const leaderTxid = commits.find((c) =>
          c.ids.includes(state.rows.find((r) => r.title === 'leader')!.id),
        )!.txid;
        const inGroup = commits.filter(
          (c) => c.txid === leaderTxid && outcomes.some((o) => o.json!.commit === c.oid),
        );
        expect(inGroup.length).toBeGreaterThan(0);
      }
      expect(state.journal).toEqual([]);
      expect(consistencyProblems(dir)).toEqual([]);
      nativelyClean(dir);
      expect(groupFiles(dir)).toEqual([]);
    },
  );
});

describe('long-lived writers (the library, a store kept open per process)', () => {
  it('record in loops side by side: every record stored, each in a commit of its own', async () => {
    const dir = tempStore();
    const report = await runLongLived({
      dir,
      processes: 4,
      seconds: 4,
      lib: libraryOf(ROOT),
      startupSeconds: 3,
    });
    expect(report.errors).toEqual([]);
    expect(report.records).toBeGreaterThan(4);
    expect(report.missing).toBe(0);
    expect(report.ownCommits).toBe(report.records);
    expect(report.groups.records).toBe(report.records + 1);
    expect(report.verifyExit).toBe(0);
    expect(consistencyProblems(dir)).toEqual([]);
    nativelyClean(dir);
    expect(groupFiles(dir)).toEqual([]);
  });

  it("serveInBackground: a holder's caller has its record once stored, while it serves on; close waits for that", async () => {
    const dir = await seededByCli();
    const store = await openStore({ dir, serveInBackground: true });
    const { own, member } = await leadWithOneInLine(dir, store);
    const first = await own;

    // Stored, and answered while this process still holds the lock and listens for offers.
    const lockDir = path.join(dir, '.lessons', 'lock');
    expect(lockOwner(dir)).toBe(process.pid);
    expect(groupFiles(dir)).toContain('holder.sock');
    expect(storeState(dir).rows.map((r) => r.id)).toContain(first.id);
    // The caller goes on: its next record is offered to its own holder, or waits for the lock.
    const second = await store.recordFailure({ title: 'next', domain: 'group' });
    const closing = store.close();
    await expect(store.recordFailure({ title: 'late', domain: 'group' })).rejects.toMatchObject({
      code: 'STORE_CLOSED',
    });
    await closing;
    // Closed only once this process has let the lock go (a member may hold it by now).
    expect(lockOwner(dir)).not.toBe(process.pid);

    const joined = await member.done;
    expect(joined.code).toBe(0);
    expect(fs.existsSync(lockDir)).toBe(false);
    expect(groupFiles(dir)).toEqual([]);
    const state = storeState(dir);
    for (const [title, path_, commit] of [
      ['holder', first.path, first.commit],
      ['next', second.path, second.commit],
      ['member', joined.json!.path!, joined.json!.commit!],
    ] as const) {
      expect(state.rows.find((r) => r.title === title)?.path).toBe(path_);
      expect(Object.keys(state.files)).toContain(path_);
      expect(history(dir).find((c) => c.oid === commit)?.paths).toEqual([path_]);
    }
    expect(auditStore(dir, [joined]).problems).toEqual([]);
    nativelyClean(dir);
  });

  it('by default, a holder has let the lock go when its caller has its record', async () => {
    const dir = await seededByCli();
    const store = await openStore({ dir });
    const { own, member } = await leadWithOneInLine(dir, store);
    const first = await own;
    expect(lockOwner(dir)).not.toBe(process.pid);
    await store.close();
    const joined = await member.done;
    expect(joined.code).toBe(0);
    const titles = storeState(dir).rows.map((r) => r.title);
    expect(titles).toEqual(expect.arrayContaining(['holder', 'member']));
    expect(history(dir).find((c) => c.oid === first.commit)?.paths).toEqual([first.path]);
    expect(auditStore(dir, [joined]).problems).toEqual([]);
    nativelyClean(dir);
  });
});

describe('a member killed while it waits', () => {
  it('leaves nothing: the holder drops its offer unread, the next holder its mark', async () => {
    const dir = await seededByCli();
    // The holder serves (a writer waits in line when it starts its group), takes that writer
    // into its first group, and is slow in it; the victim offers meanwhile and is killed.
    const hold = holdAt('claim');
    const holder = startWriter({
      dir,
      kind: 'failure',
      title: 'holder',
      env: { ...hold.env, LESSONS_TEST_DELAY_AT: 'locked:2500' },
    });
    await hold.reached();
    const early = startWriter({ dir, kind: 'failure', title: 'early' });
    await inLine(dir, 1, early.done);
    hold.release();
    await offered(dir, 1, early.done);
    const victim = startWriter({ dir, kind: 'failure', title: 'victim' });
    await offered(dir, 2, victim.done);
    expect(groupFiles(dir, 'w')).toHaveLength(2);
    victim.child.kill('SIGKILL');
    const killed = await victim.done;
    expect(killed.signal).toBe('SIGKILL');
    expect((await holder.done).code).toBe(0);
    const firstIn = await early.done;
    expect(firstIn.code).toBe(0);
    const next = await startWriter({ dir, kind: 'failure', title: 'next' }).done;
    expect(next.code).toBe(0);
    // The early writer was the holder's first group: one transaction of two commits.
    const txids = history(dir).map((c) => c.txid);
    expect(new Set(txids).size).toBeLessThan(txids.length);

    const state = storeState(dir);
    expect(state.rows.map((r) => r.title)).not.toContain('victim');
    expect(Object.keys(state.files).some((p) => p.includes('victim'))).toBe(false);
    expect(git(dir, 'log', '--format=%s', 'main')).not.toContain('victim');
    expect(auditStore(dir, [killed, firstIn, next]).problems).toEqual([]);
    nativelyClean(dir);
    expect(groupFiles(dir)).toEqual([]);
  });
});
