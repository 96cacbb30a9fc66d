// Group commit across processes: while one writer holds the writers' lock, the writers waiting
// behind it hand over their rendered records (resources/handover.ts), and the next holder
// commits them with its own as one transaction (one journal entry, one commit per unit
// chained, one move of main, one SQLite transaction). Each member keeps the single-record
// promise: it exits 0 only once its records are stored, and otherwise nothing of them is.
//
// A member's life (docs/transactions.md, "Group commit"):
//   1. It tries the lock. Taken: it offers its units (h-<hid>) and waits in line as before,
//      watching its handover too.
//   2. It gets the lock first (nobody claimed it): it withdraws its handover and leads, its
//      own units first, then the handovers it claims, up to a bound.
//   3. A holder claims it: it leaves the line and waits for its answer (o-<hid>), written by
//      the holder once everything is stored, or on a rollback, or by recovery when the holder
//      died with a journal entry. A holder that died before its journal entry stored nothing:
//      the next holder claims the handover again, or the member takes the lock and commits it.
//   4. Its group rolled back: nothing of it is stored and no entry of it is left, so the member
//      tries once more on its own account, under fresh ids; a second failure is its exit 1.

import { InternalError, LockTimeoutError, TransactionError } from '../errors/index.js';
import type { TransactionCode } from '../errors/codes.js';
import type { WriteContext } from '../participants/types.js';
import type { RecordResult } from '../record/types.js';
import {
  GROUP_MAX_RECORDS,
  HandoverBoard,
  HandoverWatch,
  type ClaimedHandover,
  type HandoverOutcome,
} from '../resources/handover.js';
import type { StoreLayout } from '../resources/layout.js';
import { inspectLock } from '../resources/lock.js';
import { currentIdentity, liveness } from '../resources/owner.js';
import { checkpoint, trace } from '../util/faults.js';
import { freshIds } from './clock.js';
import { runTransaction, type TransactionOptions, type UnitInput } from './coordinator.js';

export interface WaitHooks {
  readonly onBusy?: (() => void) | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** What group commit needs of a Writer. */
export interface GroupWriter {
  readonly layout: StoreLayout;
  readonly staleMs: number;
  readonly now: () => Date;
  /** Run `fn` under the writers' lock, in an open, recovered session; `hooks` shape the wait. */
  locked<T>(fn: (ctx: WriteContext) => Promise<T>, hooks: WaitHooks): Promise<T>;
}

type CommitOptions = Omit<TransactionOptions, 'now' | 'onCommitted'>;

/** Thrown into the lock's wait when a holder claimed this writer's handover. */
const CLAIMED = new Error('handed over');

/** How often a member whose handover is claimed looks whether its holder still lives. */
const ANSWER_POLL_MIN_MS = 20;
const ANSWER_POLL_MAX_MS = 400;
/** How often a waiting member looks whether its handover was claimed, between events. */
const CLAIM_POLL_MS = 250;
/** How many times a member whose holder died takes the lock to settle its handover. */
const MAX_TAKEOVERS = 5;

/**
 * Commit `units`, leading a group or as a member of one. Returns each unit's results; throws
 * when they were not stored.
 */
export async function groupCommit(
  writer: GroupWriter,
  units: readonly UnitInput[],
  options: CommitOptions,
): Promise<RecordResult[][]> {
  const first = await commitOnce(writer, units, options);
  if (first.ok) return first.results;
  if (!first.retry) throw outcomeError(first);
  trace('group-retry');
  const again = await commitOnce(
    writer,
    units.map((u) => ({ ...u, records: freshIds(u.records) })),
    options,
  );
  if (again.ok) return again.results;
  throw outcomeError(again);
}

/** Small commits of clock-dated records are handed over; imports and large batches wait. */
function mayHandOver(units: readonly UnitInput[], options: CommitOptions): boolean {
  const records = units.flatMap((u) => u.records);
  return (
    options.onProgress === undefined &&
    records.length > 0 &&
    records.length <= GROUP_MAX_RECORDS &&
    records.every((r) => r.pinnedDate !== true) &&
    units.every((u) => u.handover === undefined)
  );
}

async function commitOnce(
  writer: GroupWriter,
  units: readonly UnitInput[],
  options: CommitOptions,
): Promise<HandoverOutcome> {
  const board = new HandoverBoard(writer.layout.groupDir);
  const handOver = mayHandOver(units, options);
  let hid: string | undefined;
  let watch: HandoverWatch | undefined;
  let watching = false;
  const stopWatching = (): void => {
    watching = false;
    watch?.close();
    watch = undefined;
  };
  try {
    for (let takeovers = 0; ; takeovers++) {
      const controller = new AbortController();
      const onBusy = (): void => {
        // Offered once; after a takeover the handover is settled under the lock instead.
        if (!handOver || hid !== undefined) return;
        hid = board.offer(units, currentIdentity());
        trace('group-offered');
        watch = new HandoverWatch(board.offeredPath(hid));
        watching = true;
        void watchClaim(
          board,
          hid,
          () => watching,
          watch,
          () => controller.abort(CLAIMED),
        );
      };
      let settled = false;
      try {
        return await writer.locked(
          async (ctx) => {
            stopWatching();
            if (hid !== undefined) {
              const state = board.settle(hid);
              settled = true;
              if (state === 'lost')
                throw new InternalError(
                  `the handover ${hid} of this writer's records vanished from ${board.dir}`,
                );
              if (state !== 'mine') return state;
              hid = undefined;
            }
            settled = true;
            return { ok: true, results: await lead(writer, ctx, board, units, options) };
          },
          { onBusy, signal: controller.signal },
        );
      } catch (error) {
        stopWatching();
        if (hid === undefined || settled) throw error;
        // Not settled under the lock: gone, or still offered, or claimed by a holder.
        if (error !== CLAIMED && board.withdraw(hid)) {
          hid = undefined;
          throw error;
        }
        trace('group-claimed');
        const answer = await awaitAnswer(writer, board, hid);
        if (answer !== undefined) return answer;
        // The holder died without an answer: settle it under the lock.
        if (takeovers >= MAX_TAKEOVERS && error !== CLAIMED) throw error;
      }
    }
  } finally {
    stopWatching();
    if (hid !== undefined) board.forget(hid);
  }
}

/** Until the handover is claimed (then `claimed()`), or the watching stops. */
async function watchClaim(
  board: HandoverBoard,
  hid: string,
  watching: () => boolean,
  watch: HandoverWatch,
  claimed: () => void,
): Promise<void> {
  while (watching()) {
    if (!board.isOffered(hid)) {
      if (watching()) claimed();
      return;
    }
    await watch.next(CLAIM_POLL_MS);
  }
}

/**
 * Wait for a holder's answer to a claimed handover. Undefined when there will be none: the
 * lock is free, or its holder died, with no answer written (the caller then takes the lock).
 * A live holder is waited for however long it takes: it owns the records now.
 */
async function awaitAnswer(
  writer: GroupWriter,
  board: HandoverBoard,
  hid: string,
): Promise<HandoverOutcome | undefined> {
  const watch = new HandoverWatch(board.offeredPath(hid).replace(/h-([^/]+)$/, 'c-$1'));
  try {
    for (let poll = 1; ; poll++) {
      const answer = board.outcome(hid);
      if (answer !== undefined) return answer;
      const holder = inspectLock(writer.layout.lockDir);
      const state = holder === undefined ? 'dead' : liveness(holder.owner);
      if (state === 'dead' || (state === 'unknown' && holder!.idleMs > writer.staleMs))
        return board.outcome(hid);
      await watch.next(
        Math.min(ANSWER_POLL_MAX_MS, ANSWER_POLL_MIN_MS * 1.5 ** (poll - 1)) *
          (0.5 + Math.random()),
      );
    }
  } finally {
    watch.close();
  }
}

/**
 * Holding the lock: commit `units` and the handovers waiting, as one transaction, and answer
 * each waiter. Returns this writer's own results; throws (after answering) if nothing stored.
 */
async function lead(
  writer: GroupWriter,
  ctx: WriteContext,
  board: HandoverBoard,
  units: readonly UnitInput[],
  options: CommitOptions,
): Promise<RecordResult[][]> {
  const own = units.reduce((n, u) => n + u.records.length, 0);
  await checkpoint('claim');
  const claimed =
    own < GROUP_MAX_RECORDS ? board.claim({ maxRecords: GROUP_MAX_RECORDS - own }) : [];
  if (claimed.length === 0) return runTransaction(ctx, units, { ...options, now: writer.now() });
  trace(`group-size ${1 + claimed.length}`);
  const inputs: UnitInput[] = [
    ...units,
    ...claimed.flatMap((c) => c.units.map((u) => ({ ...u, handover: c.hid }))),
  ];
  try {
    const results = await runTransaction(ctx, inputs, {
      ...options,
      now: writer.now(),
      onCommitted: (all) => answerStored(board, claimed, all.slice(units.length)),
    });
    return results.slice(0, units.length);
  } catch (error) {
    answerFailed(board, claimed, error);
    throw error;
  }
}

/** Each claimed handover's results (they follow one another in `results`), then its claim goes. */
function answerStored(
  board: HandoverBoard,
  claimed: readonly ClaimedHandover[],
  results: RecordResult[][],
): void {
  let at = 0;
  for (const c of claimed) {
    board.answer(c.hid, { ok: true, results: results.slice(at, (at += c.units.length)) });
    board.release(c.hid);
  }
}

function answerFailed(
  board: HandoverBoard,
  claimed: readonly ClaimedHandover[],
  error: unknown,
): void {
  const known = error instanceof TransactionError || error instanceof LockTimeoutError;
  const code = known ? error.code : 'IO_ERROR';
  // Only a double fault leaves the outcome in doubt; then the waiter must not try again.
  const retry = code !== 'ROLLBACK_INCOMPLETE';
  const message = `the group commit this writer's records were part of failed: ${error instanceof Error ? error.message : String(error)}`;
  for (const c of claimed) {
    try {
      board.answer(c.hid, {
        ok: false,
        retry,
        error: { code, message, exitCode: error instanceof LockTimeoutError ? 3 : 1 },
      });
      board.release(c.hid);
    } catch {
      // unanswered: the waiter finds its claim without an answer and settles it under the lock
    }
  }
}

/** The error a member reports for an answer that its records were not stored. */
function outcomeError(outcome: Extract<HandoverOutcome, { ok: false }>): Error {
  const { code, message, exitCode } = outcome.error;
  if (exitCode === 3) return new LockTimeoutError(message, { data: { group: true } });
  return new TransactionError(
    TRANSACTION_CODES.has(code) ? (code as TransactionCode) : 'IO_ERROR',
    message,
    { data: { group: true } },
  );
}

const TRANSACTION_CODES: ReadonlySet<string> = new Set<TransactionCode>([
  'FILE_EXISTS',
  'GIT_LOCKED',
  'REF_MOVED',
  'LOCK_COMPROMISED',
  'IO_ERROR',
  'ROLLBACK_FAILED',
  'ROLLBACK_INCOMPLETE',
  'INJECTED_FAULT',
]);
