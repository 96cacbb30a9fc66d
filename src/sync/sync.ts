// `lessons sync`: fetch the remote's main (outside the writers' lock: writers keep recording),
// integrate it under the lock as one journaled transaction (integrate.ts), then push main
// (outside the lock again: records made meanwhile go along). When the push is rejected because
// the remote moved, fetch, integrate and push again, with jittered waits, up to a bound.

import pRetry from 'p-retry';
import { SyncError, UsageError } from '../errors/index.js';
import { readRef, MAIN_REF } from '../git/refs.js';
import { Conflicts, type ConflictNote } from '../resources/conflicts.js';
import type { Writer } from '../txn/writer.js';
import { checkpoint } from '../util/faults.js';
import { integrateFetched, trackingRef, type IntegrateResult } from './integrate.js';
import { NativeGit } from './native.js';

/** How many times a rejected push is retried (fetch, integrate, push) before giving up. */
export const MAX_PUSH_RETRIES = 8;

export interface SyncOptions {
  /** @default "origin" */
  readonly remote?: string | undefined;
  /** Retries after a rejected push. @default MAX_PUSH_RETRIES */
  readonly retries?: number | undefined;
}

export interface SyncReport {
  readonly ok: true;
  readonly remote: string;
  /** Every integration, one per attempt (a rejected push makes another). */
  readonly integrations: readonly IntegrateResult[];
  /** Pushes tried; the last succeeded (or there was nothing to push). */
  readonly attempts: number;
  /** What the remote's main holds now. */
  readonly pushed: string | null;
  /** main afterwards. */
  readonly head: string | null;
  /** Conflicts found by this sync (all unresolved ones are in `lessons verify`). */
  readonly conflicts: readonly ConflictNote[];
}

/** The remote's URL, or REMOTE_UNKNOWN (exit 2) naming the remotes there are. */
export async function requireRemote(git: NativeGit, remote: string): Promise<string> {
  const result = await git.run(['remote', 'get-url', remote]);
  if (result.code === 0) return result.stdout.trim();
  const known = (await git.check(['remote'])).split('\n').filter((l) => l !== '');
  throw new UsageError(
    'REMOTE_UNKNOWN',
    `the store has no remote named ${JSON.stringify(remote)} (${known.length === 0 ? 'it has none' : `it has ${known.join(', ')}`}). ` +
      'Add one with `lessons remote add <name> <url>` (or `git remote add` in the store), or pass --remote <name>.',
  );
}

/** git's words when another fetch in the same store holds a ref's lock file. */
const REF_LOCKED = /cannot lock ref|Unable to create '[^']*\.lock'|\.lock': File exists/;

/** How many times a fetch that found a ref locked by a concurrent fetch is tried again. */
const FETCH_LOCK_RETRIES = 10;

/**
 * The remote's main into refs/remotes/<remote>/main; objects into the store. No lock needed:
 * two syncs of one store at once only meet on the remote-tracking ref's lock file, and the
 * loser fetches again after a jittered wait (what it fetches is integrated under the writers'
 * lock, where the latest tracking ref is read).
 */
export async function fetchMain(git: NativeGit, remote: string): Promise<void> {
  await pRetry(
    async () => {
      const result = await git.run([
        'fetch',
        '--no-tags',
        '--quiet',
        remote,
        `+refs/heads/*:refs/remotes/${remote}/*`,
      ]);
      if (result.code !== 0)
        throw new SyncError(
          'FETCH_FAILED',
          `git could not fetch from ${remote}: ${result.stderr.trim().replace(/\.$/, '') || `exit ${result.code}`}. Nothing was changed; check the URL and your access, then sync again.`,
          { data: { remote, exit: result.code, refLocked: REF_LOCKED.test(result.stderr) } },
        );
    },
    {
      retries: FETCH_LOCK_RETRIES,
      minTimeout: 20,
      maxTimeout: 500,
      factor: 2,
      randomize: true,
      shouldRetry: ({ error }) => error instanceof SyncError && error.data.refLocked === true,
    },
  );
}

class PushRejected extends Error {}

/** Push main; PushRejected when the remote moved (retryable), PUSH_FAILED otherwise. */
async function pushMain(git: NativeGit, remote: string): Promise<void> {
  const result = await git.run(['push', '--porcelain', remote, `${MAIN_REF}:${MAIN_REF}`]);
  if (result.code === 0) return;
  const line = result.stdout.split('\n').find((l) => l.startsWith('!\t'));
  // The remote moved: a plain rejection (not a fast-forward), or a ref update that lost a race
  // with another pusher. A hook's refusal is not retried: pushing again changes nothing.
  if (
    line !== undefined &&
    (/\[rejected\]/.test(line) ||
      /\[remote rejected\].*(failed to update ref|cannot lock|failed to lock|incorrect old value)/.test(
        line,
      ))
  )
    throw new PushRejected(line.split('\t').slice(2).join(' '));
  throw new SyncError(
    'PUSH_FAILED',
    `git could not push to ${remote}: ${(result.stderr.trim() || line) ?? `exit ${result.code}`}. What was integrated is stored here; sync again once the remote is reachable.`,
    { data: { remote, exit: result.code } },
  );
}

/** fetch -> integrate under the lock -> push, retried while the remote keeps moving. */
export async function syncStore(writer: Writer, options: SyncOptions = {}): Promise<SyncReport> {
  const remote = options.remote ?? 'origin';
  const git = new NativeGit(writer.layout.dir);
  await requireRemote(git, remote);
  const retries = options.retries ?? MAX_PUSH_RETRIES;
  const integrations: IntegrateResult[] = [];
  let attempts = 0;
  try {
    await pRetry(
      async () => {
        attempts++;
        await fetchMain(git, remote);
        await checkpoint('sync-fetched');
        integrations.push(
          await writer.run((ctx) => integrateFetched(ctx, git, remote, writer.now())),
        );
        const head = readRef(writer.layout.gitdir, MAIN_REF);
        if (head === undefined || head === readRef(writer.layout.gitdir, trackingRef(remote)))
          return;
        await checkpoint('sync-push');
        await pushMain(git, remote);
      },
      {
        retries,
        minTimeout: 50,
        maxTimeout: 1000,
        factor: 2,
        randomize: true,
        shouldRetry: ({ error }) => error instanceof PushRejected,
      },
    );
  } catch (error) {
    if (!(error instanceof PushRejected)) throw error;
    throw new SyncError(
      'PUSH_REJECTED',
      `the remote ${remote} kept moving: the push was rejected ${attempts} times (${error.message}), each time after fetching and integrating again. ` +
        'Everything fetched is integrated here and nothing is lost; run `lessons sync` again (another machine is syncing busily).',
      { data: { remote, attempts } },
    );
  }
  const gitdir = writer.layout.gitdir;
  return {
    ok: true,
    remote,
    integrations,
    attempts,
    pushed: readRef(gitdir, trackingRef(remote)) ?? null,
    head: readRef(gitdir, MAIN_REF) ?? null,
    conflicts: integrations.flatMap((i) => i.conflicts),
  };
}

/** Unresolved conflicts of a store, oldest first. */
export function listConflicts(writer: Writer): ConflictNote[] {
  return new Conflicts(writer.layout.conflictsDir).list();
}

/**
 * A person decided about a conflict (docs/sync.md): its note goes. `id` "all" resolves every
 * one. Returns the notes removed; NOT_FOUND-like usage error when there is no such note.
 */
export async function resolveConflicts(writer: Writer, id: string): Promise<ConflictNote[]> {
  return writer.run(async (ctx) => {
    const conflicts = new Conflicts(ctx.layout.conflictsDir);
    const notes = conflicts.list().filter((n) => id === 'all' || n.id === id || n.path === id);
    if (notes.length === 0)
      throw new UsageError(
        'USAGE',
        `no unresolved sync conflict ${JSON.stringify(id)}: \`lessons verify\` lists them (SYNC_CONFLICT), with their ids.`,
      );
    for (const note of notes) conflicts.remove(note.id);
    return notes;
  });
}
