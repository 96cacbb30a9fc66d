// Test-only fault injection at the named steps of a transaction and of recovery.
//   LESSONS_TEST_FAIL_AT=<step>    throw at that step (proves each rollback)
//   LESSONS_TEST_KILL_AT=<step>    SIGKILL this process at that step (proves recovery)
//   LESSONS_TEST_DELAY_AT=<step>:<ms>  pause there for a while
//   LESSONS_TEST_HOLD_AT=<step>:<path> pause there until <path> exists, having written
//                                  <path>.held: lets a test act while the lock is held, however
//                                  slow a loaded machine makes it (no race against a delay)
// And one diagnostic: LESSONS_TRACE=1 prints "lessons-trace <step> <epoch ms>" to stderr at
// every step, which is how the stress suite learns where its random kills landed and how long
// a writer waited after a lock holder was killed.
// Unset in production, where each checkpoint costs a few environment lookups.

import fs from 'node:fs';
import { InjectedFault } from '../errors/index.js';

export const TXN_STEPS = [
  'locked', // lock taken and recovery done, nothing of this transaction written
  'journal', // intent record written and fsynced
  'files', // record files written to temp names and fsynced, not yet in place
  'insert', // rows inserted, SQLite transaction open
  'objects', // blobs, trees and commit written
  'ref', // index.lock taken, main moved: the commit point (files renamed into place next)
  'index', // git index updated, index.lock released
  'commit', // just before SQLite COMMIT (a fault here stands for COMMIT failing)
  'committed', // SQLite committed, journal entry still present
  'answered', // a group's waiters answered (outcome files), journal entry still present
  'done', // journal entry removed, lock still held
] as const;

/** Reached only by a transaction that failed: its abort is recorded, nothing undone yet. */
export const ABORT_STEPS = ['aborted'] as const;

/** Reached by a writer leading a group commit, holding the lock, before it claims handovers. */
export const GROUP_STEPS = ['claim'] as const;

export const RECOVERY_STEPS = [
  'recover-start',
  'recover-files',
  'recover-rows',
  'recover-index',
  'recover-journal',
] as const;

/** The steps of integrating fetched commits (src/sync/, src/participants/integrate.ts). */
export const SYNC_STEPS = [
  'sync-fetched', // fetched, outside the writers' lock
  'sync-journal', // merge commit written, intent record written and fsynced
  'sync-files', // new contents at temp names, fsynced
  'sync-rows', // rows changed, SQLite transaction open
  'sync-ref', // main moved by compare-and-swap: the commit point of the integration
  'sync-placed', // files renamed into place (or removed), .git/index staged
  'sync-committed', // SQLite committed, journal entry still present
  'sync-done', // journal entry removed, lock still held
  'sync-push', // about to push, outside the writers' lock
] as const;

export type TxnStep = (typeof TXN_STEPS)[number];
export type RecoveryStep = (typeof RECOVERY_STEPS)[number];
export type AbortStep = (typeof ABORT_STEPS)[number];
export type GroupStep = (typeof GROUP_STEPS)[number];
export type SyncStep = (typeof SYNC_STEPS)[number];
export type Step = TxnStep | AbortStep | RecoveryStep | GroupStep | SyncStep;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Steps that take no injected throw: after SQLite COMMIT the record is stored, so a fault there
 * could only lie about it; and in the middle of an undo a throw would only be a second failure.
 */
export const NO_THROW: ReadonlySet<Step> = new Set<Step>([
  'committed',
  'answered',
  'done',
  'aborted',
  'sync-committed',
  'sync-done',
]);

/** With LESSONS_TRACE=1, print `event` and the time; also used for the lock's comings and goings. */
export function trace(event: string): void {
  if (process.env.LESSONS_TRACE === '1')
    process.stderr.write(
      `lessons-trace ${event} ${(performance.timeOrigin + performance.now()).toFixed(1)}\n`,
    );
}

export async function checkpoint(step: Step): Promise<void> {
  const env = process.env;
  trace(step);
  if (env.LESSONS_TEST_KILL_AT === step) process.kill(process.pid, 'SIGKILL');
  const delay = env.LESSONS_TEST_DELAY_AT;
  if (delay !== undefined && delay.startsWith(`${step}:`))
    await sleep(Number(delay.slice(step.length + 1)));
  const hold = env.LESSONS_TEST_HOLD_AT;
  if (hold !== undefined && hold.startsWith(`${step}:`))
    await holdUntil(hold.slice(step.length + 1));
  if (env.LESSONS_TEST_FAIL_AT === step && !NO_THROW.has(step)) throw new InjectedFault(step);
}

/** Say that the step is reached (`<release>.held`), then wait for the test to create `release`. */
async function holdUntil(release: string): Promise<void> {
  fs.writeFileSync(`${release}.held`, String(process.pid));
  // A test that died without releasing must not leave a writer behind for ever.
  const giveUp = Date.now() + 10 * 60_000;
  while (!fs.existsSync(release) && Date.now() < giveUp) await sleep(10);
}
