// Group commit across processes: while one writer holds the writers' lock, it listens on the
// holder's socket (resources/handover.ts); the writers waiting behind it send it their
// rendered records, and it commits them with its own as one transaction (one journal entry,
// one commit per unit chained, one move of main, one SQLite transaction), then answers each
// on its connection. Each member keeps the single-record promise: it exits 0 only once its
// records are stored, and otherwise nothing of them is.
//
// A member's life (docs/transactions.md, "Group commit"):
//   1. It tries the lock. Taken: it waits in line as before, and meanwhile connects to the
//      holder's socket (retrying while none listens), marks itself waiting (w-<hid>) and sends
//      its units.
//   2. It gets the lock first, nothing sent or its offer declined: it leads, its own units
//      first, then the offers that reach it while it holds the lock, up to a bound.
//   3. Its holder answers: stored (ids, rowids, commits), or failed. A live holder is waited
//      for however long it takes: it may own the records now.
//   4. Its connection closes without an answer (the holder died): it takes the lock, whose
//      session recovers the holder's journal entry and writes the answer (o-<hid>) of each
//      waiting member listed in it. No answer there means the holder died before its entry:
//      nothing of the member is stored, and it commits its units itself.
//   5. Its group rolled back: nothing of it is stored and no entry of it is left, so the member
//      tries once more on its own account, under fresh ids; a second failure is its exit 1.

import fs from 'node:fs';
import path from 'node:path';
import { LockTimeoutError, TransactionError } from '../errors/index.js';
import type { TransactionCode } from '../errors/codes.js';
import type { WriteContext } from '../participants/types.js';
import type { RecordResult } from '../record/types.js';
import {
  GROUP_MAX_RECORDS,
  HandoverBoard,
  HandoverServer,
  holderSocketPath,
  newHandoverId,
  offerToHolder,
  type ClaimedHandover,
  type HandoverOutcome,
  type OfferReply,
  type SentOffer,
} from '../resources/handover.js';
import type { StoreLayout } from '../resources/layout.js';
import { lockWaiters } from '../resources/lock.js';
import { EntryWatch } from '../resources/watch.js';
import { currentIdentity } from '../resources/owner.js';
import { checkpoint, trace } from '../util/faults.js';
import { freshIds } from './clock.js';
import { runTransaction, type TransactionOptions, type UnitInput } from './coordinator.js';

export interface WaitHooks {
  readonly onBusy?: (() => void) | undefined;
  readonly signal?: AbortSignal | undefined;
  /** How long to wait for the lock, when less than the writer's lock timeout is left. */
  readonly timeoutMs?: number | undefined;
}

/** What group commit needs of a Writer. */
export interface GroupWriter {
  readonly layout: StoreLayout;
  readonly lockTimeoutMs: number;
  readonly staleMs: number;
  readonly now: () => Date;
  /** Run `fn` under the writers' lock, in an open, recovered session; `hooks` shape the wait. */
  locked<T>(fn: (ctx: WriteContext) => Promise<T>, hooks: WaitHooks): Promise<T>;
  /**
   * Keep `work` (a holder serving others after its own records were stored) going after the
   * caller had its answer: the writer's close waits for it, and its failure is not the caller's.
   * Undefined: the caller waits until the holder has stopped serving.
   */
  readonly background: ((work: Promise<unknown>) => void) | undefined;
}

type CommitOptions = Omit<TransactionOptions, 'now' | 'onCommitted'>;

/** Thrown into the lock's wait when the holder answered this writer's offer. */
const ANSWERED = new Error('answered by the holder');
/** Thrown under the lock when a lost offer's entry belongs to a writer still running. */
const UNSETTLED = new Error('the lost offer is not settled yet');

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** True when a journal entry under way lists the handover `hid`. */
function journaled(ctx: WriteContext, hid: string): boolean {
  return ctx.journal.list().some((f) => f.entry?.handovers?.some((h) => h.hid === hid) === true);
}

/** How often a waiter looks for a holder's socket between the events that announce one. */
const HOLDER_POLL_MS = 250;
/** How long a holder that saw writers in line waits for their first offers. */
const FIRST_OFFERS_MS = 200;
/** How often a waiter looks again at a lost offer whose journal entry is still undecided. */
const UNSETTLED_POLL_MS = 100;
/** How soon a waiter tries a socket again that is there but refused its connection. */
const REFUSED_POLL_MS = 10;
/**
 * A holder keeps serving the offers that arrive while it commits, up to this many more groups
 * after its own, or this long after its own: other writers that cannot hand over (an import)
 * wait meanwhile, and so does a close of the holder's store.
 */
const EXTRA_GROUPS = 64;
const SERVE_MS = 2000;
/** How long a holder waits, between groups, for the members it answered to offer again. */
const GATHER_WAIT_MS = 8;

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

function recordCount(units: readonly UnitInput[]): number {
  return units.reduce((n, u) => n + u.records.length, 0);
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
  const socket = holderSocketPath(writer.layout.groupDir);
  const handOver = socket !== undefined && mayHandOver(units, options);
  const hid = newHandoverId();
  const identity = currentIdentity();
  let marked = false;
  /** Wakes a waiter waiting for a holder to listen; closed once the lock came. */
  let appears: EntryWatch | undefined;
  /** The lock timeout covers the whole wait: offers not taken by then are withdrawn. */
  const deadline = performance.now() + writer.lockTimeoutMs;
  /** The offer sent whose reply is not yet dealt with. */
  let inFlight: SentOffer | undefined;
  /** An offer's connection closed without a reply: its fate is learnt under the lock. */
  let uncertain = false;
  let answer: HandoverOutcome | undefined;
  /** While true, offers may be sent; the lock's arrival sets it false. */
  let offering = false;

  const deal = (reply: OfferReply): void => {
    trace(`group-reply-${reply.kind}`);
    if (reply.kind === 'outcome') answer = reply.outcome;
    else if (reply.kind === 'lost') uncertain = true;
  };
  /** Offer the units to the holder listening, if one does; 'none' when nothing was sent. */
  const offerOnce = async (): Promise<'none' | 'declined' | 'done' | 'taken over'> => {
    const sent = await offerToHolder(socket!, hid, identity, units, {
      beforeSend: () => {
        if (!offering) return false;
        board.markWaiting(hid, identity);
        marked = true;
        return true;
      },
      onSent: (reply) => {
        inFlight = reply;
      },
    });
    if (!sent) return 'none';
    trace('group-offered');
    const mine = inFlight!;
    const reply = await replyBy(mine, deadline);
    if (inFlight !== mine) return 'taken over'; // the lock came: it dealt with the reply
    inFlight = undefined;
    deal(reply);
    return reply.kind === 'declined' ? 'declined' : 'done';
  };

  try {
    if (handOver) {
      // A holder serving now takes the units without this writer going near the lock.
      offering = true;
      const first = await offerOnce();
      offering = false;
      if (answer !== undefined) return answer;
      if (first === 'done') trace('group-lost');
    }
    for (;;) {
      const controller = new AbortController();
      let entered = false;
      const offerUntilAnswered = async (): Promise<void> => {
        fs.mkdirSync(path.dirname(socket!), { recursive: true });
        appears = new EntryWatch(socket!);
        appears.arm();
        try {
          // Past the deadline the lock's wait is timing out too: no more offers.
          while (offering && performance.now() < deadline) {
            const state = await offerOnce();
            if (state === 'taken over') return;
            if (state === 'done') {
              offering = false;
              if (answer !== undefined) controller.abort(ANSWERED);
              return;
            }
            // No holder listens (or it just stopped): until one starts to. A socket that is
            // there but refused was bound a moment before its holder listened, or is a dead
            // holder's, which the next lock holder removes: looked at again soon.
            if (state === 'none')
              await appears?.next(fs.existsSync(socket!) ? REFUSED_POLL_MS : HOLDER_POLL_MS);
          }
        } finally {
          appears?.close();
        }
      };
      const onBusy = (): void => {
        if (!handOver || uncertain) return;
        offering = true;
        void offerUntilAnswered();
      };
      /** A leader's own outcome, known once its own group is stored; it may serve on after. */
      let ownStored: ((outcome: HandoverOutcome) => void) | undefined;
      const own = new Promise<HandoverOutcome>((resolve) => {
        ownStored = resolve;
      });
      try {
        const holding = writer.locked(
          async (ctx) => {
            entered = true;
            offering = false;
            appears?.close();
            const sent = inFlight;
            inFlight = undefined;
            // The holder that had the offer has let the lock go: its reply is in, or it died.
            if (sent !== undefined) deal(await sent.reply);
            if (answer !== undefined) return answer;
            if (uncertain) {
              const recovered = board.outcome(hid);
              if (recovered !== undefined) return recovered;
              // An entry with the offer whose writer still runs: its outcome is not known yet.
              if (journaled(ctx, hid)) throw UNSETTLED;
              // No answer and no entry: the holder died before it journaled the offer.
              trace('group-settled');
            }
            const results = await lead(writer, ctx, board, socket, units, options, (mine) =>
              ownStored!({ ok: true, results: mine }),
            );
            return { ok: true as const, results };
          },
          {
            onBusy,
            signal: controller.signal,
            // A lost offer is settled under the lock, however long that takes to come.
            timeoutMs: uncertain ? undefined : Math.max(0, deadline - performance.now()),
          },
        );
        const { background } = writer;
        if (background === undefined) return await holding;
        const outcome = await Promise.race([holding, own]);
        // Stored, and perhaps serving others still: the caller goes on, and the lock stays
        // held until the serving ends (settled already when this writer did not lead).
        background(holding);
        return outcome;
      } catch (error) {
        offering = false;
        appears?.close();
        if (error === ANSWERED && answer !== undefined) return answer;
        const sent = inFlight;
        inFlight = undefined;
        // Waiting for the lock failed (timed out) while a holder has the offer: withdrawn
        // unless taken, and its reply decides.
        if (sent !== undefined) deal(await replyBy(sent, 0));
        if (answer !== undefined) return answer;
        if (!uncertain) throw error;
        // A lost offer may be stored: this writer must learn its fate before it answers at
        // all, however long the lock takes to come (any writer's recovery may answer it).
        const recovered = board.outcome(hid);
        if (recovered !== undefined) return recovered;
        if (error === UNSETTLED) await sleep(UNSETTLED_POLL_MS);
        else if (!(error instanceof LockTimeoutError) || entered) throw error;
        trace('group-takeover');
      }
    }
  } finally {
    if (marked) board.forget(hid);
  }
}

/**
 * The reply to `offer`; past `deadline` (performance.now()) an offer the holder has not taken
 * is withdrawn, and the reply is then "declined" (or its outcome, if taken meanwhile).
 */
async function replyBy(offer: SentOffer, deadline: number): Promise<OfferReply> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), Math.max(0, deadline - performance.now()));
  });
  try {
    const first = await Promise.race([offer.reply, late]);
    if (first !== 'late') return first;
  } finally {
    clearTimeout(timer);
  }
  if (!offer.taken) offer.withdraw();
  return offer.reply;
}

/**
 * Holding the lock: commit `units` and the offers that reach the holder's socket, as one
 * transaction, answering each member; then, while more arrive, up to EXTRA_GROUPS groups of
 * theirs. This writer's own results go to `onOwnStored` as soon as they are stored, so that its
 * caller goes on (its next records come back as offers to this same socket); they are also
 * returned at the end. Throws (after answering) if they were not stored.
 */
async function lead(
  writer: GroupWriter,
  ctx: WriteContext,
  board: HandoverBoard,
  socket: string | undefined,
  units: readonly UnitInput[],
  options: CommitOptions,
  onOwnStored: (results: RecordResult[][]) => void,
): Promise<RecordResult[][]> {
  const own = recordCount(units);
  board.sweep();
  await checkpoint('claim');
  // Served only when others wait in line: a writer alone never loads the socket's module.
  const waiters = own < GROUP_MAX_RECORDS ? lockWaiters(writer.layout.lockDir) : 0;
  const server = waiters > 0 ? await HandoverServer.listen(socket) : undefined;
  if (server === undefined) return runTransaction(ctx, units, { ...options, now: writer.now() });
  try {
    // They notice the socket appear and offer: give them a moment to.
    await server.awaitOffers(waiters, FIRST_OFFERS_MS);
    let results: RecordResult[][] | undefined;
    let until = Number.POSITIVE_INFINITY;
    for (let group = 0; group <= EXTRA_GROUPS; group++) {
      const mine = group === 0 ? units : [];
      await server.gather();
      const taken = server.take({ maxRecords: GROUP_MAX_RECORDS - recordCount(mine) });
      if (taken.length === 0 && group > 0) break;
      if (taken.length > 0) trace(`group-size ${mine.length + taken.length}`);
      const inputs: UnitInput[] = [
        ...mine,
        ...taken.flatMap((c) => c.units.map((u) => ({ ...u, handover: c.hid }))),
      ];
      try {
        const all = await runTransaction(ctx, inputs, {
          ...options,
          now: writer.now(),
          onCommitted: (stored) => answerStored(board, taken, stored.slice(mine.length)),
        });
        if (group === 0) {
          results = all.slice(0, mine.length);
          until = performance.now() + SERVE_MS;
          onOwnStored(results);
        }
      } catch (error) {
        answerFailed(board, taken, error);
        if (group === 0) throw error;
        break; // this writer's own records are stored; the members' group was answered
      }
      if (performance.now() > until) break;
      // The members just answered come back with their next records: give them a moment.
      await server.awaitOffers(Math.max(1, taken.length), GATHER_WAIT_MS);
      if (server.waiting === 0) break;
    }
    return results!;
  } finally {
    server.close();
  }
}

/** Answer a member; when the answer cannot reach its socket whole, it is left on the board. */
function send(board: HandoverBoard, c: ClaimedHandover, outcome: HandoverOutcome): void {
  if (c.answer(outcome)) return;
  if (board.isWaiting(c.hid)) board.answer(c.hid, outcome);
}

/**
 * Each member's results (its units' follow one another in `results`). Every member is
 * answered; if an answer could go nowhere, this throws after the others, and the journal entry
 * stays for recovery to answer from.
 */
function answerStored(
  board: HandoverBoard,
  taken: readonly ClaimedHandover[],
  results: RecordResult[][],
): void {
  let at = 0;
  let failed: Error | undefined;
  for (const c of taken) {
    try {
      send(board, c, { ok: true, results: results.slice(at, (at += c.units.length)) });
    } catch (error) {
      failed ??= error instanceof Error ? error : new Error('the answer could not be written');
    }
  }
  if (failed !== undefined) throw failed;
}

function answerFailed(
  board: HandoverBoard,
  taken: readonly ClaimedHandover[],
  error: unknown,
): void {
  const known = error instanceof TransactionError || error instanceof LockTimeoutError;
  const code = known ? error.code : 'IO_ERROR';
  // Only a double fault leaves the outcome in doubt; then the waiter must not try again.
  const retry = code !== 'ROLLBACK_INCOMPLETE';
  const message = `the group commit this writer's records were part of failed: ${error instanceof Error ? error.message : String(error)}`;
  for (const c of taken) {
    try {
      send(board, c, {
        ok: false,
        retry,
        error: { code, message, exitCode: error instanceof LockTimeoutError ? 3 : 1 },
      });
    } catch {
      // unanswered: the waiter's connection closes, and it settles under the lock
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
