// The sync round: several stores cloned from one bare remote, each with a crowd of CLI writers
// recording while `lessons sync` runs on it every interval (optionally SIGKILLed at random
// moments), then a final sync round on each store in turn. Afterwards every store must hold
// every record exactly once, in all three of file, row and commit; verify and native
// `git fsck` must be clean on every store and on the remote; and no merge may have conflicted.
// Shared by `npm run stress -- --sync` and test/stress/sync.slow.test.ts.

import { execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SYNC_STEPS } from '../../src/util/faults.js';
import { auditStore, type AuditReport } from './audit.js';
import { consistencyProblems, git, readRows } from '../../test/helpers/inspect.js';
import {
  latencies,
  percentile,
  runLessons,
  startLessons,
  startWriter,
  type Latencies,
  type LessonsRun,
  type WriterOutcome,
} from '../../test/helpers/writers.js';

export interface SyncRoundOptions {
  readonly dir: string;
  /** Stores sharing the remote. @default 3 */
  readonly stores?: number;
  /** Concurrent CLI writers on each store. @default 30 */
  readonly writersPerStore?: number;
  /** Records each store's writers make together (more while kills are still wanted). @default 100 */
  readonly recordsPerStore?: number;
  /** A sync starts on each store this often (at most two run at once on one store). @default 1000 */
  readonly syncEveryMs?: number;
  /** SIGKILL this many syncs, at random moments, before the writers' end stops the loops. @default 0 */
  readonly kills?: number;
  /**
   * Half the killed syncs die at a sync step drawn at random, half uniformly within the recent
   * syncs' median duration (times 1.5), at most this long after their start. @default 1500
   */
  readonly killWithinMs?: number;
  /** A writer or a sync still running after this long is killed and reported as hung. @default 300000 */
  readonly childTimeoutMs?: number;
  /** No new writer or sync starts after this long; kills still wanted then are a problem. @default 1800000 */
  readonly deadlineMs?: number;
  readonly onProgress?: (line: string) => void;
}

export interface StoreAudit {
  readonly store: string;
  readonly records: number;
  readonly distinctIds: number;
  readonly head: string;
  readonly verifyExit: number | null;
  readonly fsckClean: boolean;
  readonly conflictCommits: number;
  readonly audit: AuditReport;
}

export interface SyncRoundReport {
  readonly stores: number;
  readonly writers: number;
  readonly records: number;
  readonly wallMs: number;
  readonly writerLatency: Latencies;
  readonly syncs: {
    readonly runs: number;
    readonly exit0: number;
    readonly killed: number;
    /** Syncs that exited non-zero without being killed, by error code. */
    readonly failed: Record<string, number>;
    readonly latency: Latencies;
    /** Where the kills landed: the last sync step each killed sync reached. */
    readonly killedAt: Record<string, number>;
  };
  readonly finalRoundExits: readonly (number | null)[];
  readonly perStore: readonly StoreAudit[];
  readonly remoteFsckClean: boolean;
  /** Everything that breaks the promise; empty when the round is sound. */
  readonly problems: readonly string[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function fsckClean(dir: string): boolean {
  try {
    execFileSync('git', ['-C', dir, 'fsck', '--strict', '--full', '--no-dangling'], {
      stdio: 'ignore',
    });
    return true;
  } catch {
    return false;
  }
}

/** The last sync step a traced run reached ("starting" before the first). */
function lastStep(stderr: string): string {
  const steps = [...stderr.matchAll(/^lessons-trace (\S+) /gm)]
    .map((m) => m[1]!)
    .filter((s) => (SYNC_STEPS as readonly string[]).includes(s));
  return steps.at(-1) ?? 'starting';
}

function errorCode(run: LessonsRun): string {
  try {
    return (
      (JSON.parse(run.stdout) as { error?: { code?: string } }).error?.code ?? `exit ${run.code}`
    );
  } catch {
    return `exit ${run.code}`;
  }
}

async function must(args: readonly string[]): Promise<LessonsRun> {
  const run = await runLessons(args);
  if (run.code !== 0) throw new Error(`lessons ${args.join(' ')}: exit ${run.code}: ${run.stderr}`);
  return run;
}

export async function runSyncRound(options: SyncRoundOptions): Promise<SyncRoundReport> {
  const storeCount = options.stores ?? 3;
  const writersPerStore = options.writersPerStore ?? 30;
  const recordsPerStore = options.recordsPerStore ?? 100;
  const every = options.syncEveryMs ?? 1000;
  const killsWanted = options.kills ?? 0;
  const killWithin = options.killWithinMs ?? 1500;
  const say = options.onProgress ?? (() => undefined);
  const childTimeout = options.childTimeoutMs ?? 300_000;
  const hung: string[] = [];
  /** Kill `child` if it outlives childTimeout: a hang is what this round is here to catch. */
  const watchdog = (child: ChildProcess, what: string): (() => void) => {
    const timer = setTimeout(() => {
      hung.push(`${what} still running after ${childTimeout / 1000} s: killed`);
      child.kill('SIGKILL');
    }, childTimeout);
    return () => clearTimeout(timer);
  };

  fs.mkdirSync(options.dir, { recursive: true });
  const remote = path.join(options.dir, 'team.git');
  git(options.dir, 'init', '--quiet', '--bare', '--initial-branch=main', remote);
  const stores = Array.from({ length: storeCount }, (_, i) => path.join(options.dir, `store-${i}`));
  await must(['--dir', stores[0]!, 'record-failure', '--title', 'seed', '--domain', 'sync']);
  await must(['--dir', stores[0]!, 'remote', 'add', 'origin', remote]);
  await must(['--dir', stores[0]!, 'sync']);
  for (const dir of stores.slice(1)) await must(['clone', remote, '--dir', dir]);

  const started = performance.now();
  const deadline = started + (options.deadlineMs ?? 1_800_000);
  const inTime = (): boolean => performance.now() < deadline;
  // Writers: on each store, writersPerStore loops sharing that store's recordsPerStore titles.
  const outcomes: WriterOutcome[] = [];
  let killed = 0;
  let writersLeft = storeCount;
  const writing = stores.map(async (dir, s) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: writersPerStore }, async () => {
        // With kills wanted, writing goes on until they have landed: a kill can only land in
        // an integration while there is something to integrate.
        while (next < recordsPerStore || (killed < killsWanted && inTime())) {
          const i = next++;
          const w = startWriter({
            dir,
            kind: i % 3 === 0 ? 'heuristic' : 'failure',
            title: `store ${s} record ${i}`,
            domain: 'sync',
          });
          const stop = watchdog(w.child, `writer "store ${s} record ${i}"`);
          outcomes.push(await w.done);
          stop();
        }
      }),
    );
    writersLeft--;
  });

  // Sync loops: on each store a sync starts every `every` ms, as a timer would start them,
  // with at most two at once (a slow one, queued behind the writers, overlaps the next),
  // until the writers are done and enough kills have landed.
  const syncs: { run: LessonsRun; killed: boolean }[] = [];
  // Half the kills land at a sync step chosen at random (when the sync reaches it: its trace
  // on stderr says so), the other half at a random time within the recent syncs' duration.
  const durations: number[] = [];
  const syncOnce = async (dir: string): Promise<void> => {
    const kill = killed < killsWanted && Math.random() < 0.8;
    const atStep =
      kill && Math.random() < 0.5
        ? SYNC_STEPS[Math.floor(Math.random() * SYNC_STEPS.length)]
        : undefined;
    const { child, done } = startLessons(['--dir', dir, '--json', 'sync'], {
      LESSONS_TRACE: kill ? '1' : '0',
    });
    const hungBefore = hung.length;
    const stop = watchdog(child, `sync of ${path.basename(dir)}`);
    let timer: NodeJS.Timeout | undefined;
    if (atStep !== undefined) {
      let seen = '';
      child.stderr!.on('data', (d: Buffer) => {
        seen += d.toString('utf8');
        if (seen.includes(`lessons-trace ${atStep} `)) child.kill('SIGKILL');
      });
    } else if (kill) {
      const typical =
        durations.length === 0 ? 1000 : Math.max(50, percentile(durations.slice(-20), 50));
      timer = setTimeout(
        () => child.kill('SIGKILL'),
        Math.random() * Math.min(killWithin, 1.5 * typical),
      );
    }
    const run = await done;
    clearTimeout(timer);
    stop();
    const wasKilled = run.signal === 'SIGKILL' && hung.length === hungBefore;
    if (wasKilled) killed++;
    else if (run.code === 0) durations.push(run.ms);
    syncs.push({ run, killed: wasKilled });
    say(`syncs ${syncs.length}, killed ${killed}/${killsWanted}, records ${outcomes.length}`);
  };
  const loops = stores.map(async (dir) => {
    const inFlight = new Set<Promise<void>>();
    while (writersLeft > 0 || (killed < killsWanted && inTime())) {
      if (inFlight.size >= 2) {
        await Promise.race(inFlight);
        continue;
      }
      const sync: Promise<void> = syncOnce(dir).finally(() => inFlight.delete(sync));
      inFlight.add(sync);
      await sleep(every);
    }
    await Promise.all(inFlight);
  });
  await Promise.all([...writing, ...loops]);

  // The final round: each store in turn, twice, so the last store's merge reaches the others.
  const finalRoundExits: (number | null)[] = [];
  for (let round = 0; round < 2; round++)
    for (const dir of stores) {
      const run = await runLessons(['--dir', dir, '--json', 'sync']);
      finalRoundExits.push(run.code);
    }
  const wallMs = performance.now() - started;

  const problems: string[] = [...hung];
  if (killed < killsWanted)
    problems.push(`only ${killed} of the ${killsWanted} kills wanted landed before the deadline`);
  const failures = outcomes.filter((o) => o.code !== 0);
  for (const o of failures.slice(0, 10))
    problems.push(`writer ${o.spec.title} exited ${o.code}: ${o.stderr.trim().split('\n').at(-1)}`);
  if (finalRoundExits.some((c) => c !== 0))
    problems.push(`final sync round exits: ${finalRoundExits.join(', ')}`);
  const failed: Record<string, number> = {};
  const killedAt: Record<string, number> = {};
  for (const { run, killed: k } of syncs) {
    if (k) killedAt[lastStep(run.stderr)] = (killedAt[lastStep(run.stderr)] ?? 0) + 1;
    else if (run.code !== 0) failed[errorCode(run)] = (failed[errorCode(run)] ?? 0) + 1;
  }
  // A sync may give up while the others keep moving the remote (PUSH_REJECTED is its
  // documented bound); anything else is a problem.
  for (const [code, n] of Object.entries(failed))
    if (code !== 'PUSH_REJECTED') problems.push(`${n} syncs failed with ${code}`);

  const expected = 1 + outcomes.length;
  const perStore: StoreAudit[] = [];
  for (const dir of stores) {
    const rows = readRows(dir);
    const ids = new Set(rows.map((r) => r.id));
    const verify = await runLessons(['--dir', dir, '--json', 'verify']);
    const conflictCommits = git(dir, 'log', '--format=%B', 'main')
      .split('\n')
      .filter((l) => l.startsWith('Lessons-Conflict:')).length;
    const entry: StoreAudit = {
      store: path.basename(dir),
      records: rows.length,
      distinctIds: ids.size,
      head: git(dir, 'rev-parse', 'main').trim(),
      verifyExit: verify.code,
      fsckClean: fsckClean(dir),
      conflictCommits,
      audit: auditStore(dir, outcomes),
    };
    perStore.push(entry);
    const name = entry.store;
    if (entry.records !== expected || entry.distinctIds !== expected)
      problems.push(
        `${name}: ${entry.records} rows, ${entry.distinctIds} ids; expected ${expected}`,
      );
    if (entry.verifyExit !== 0)
      problems.push(`${name}: verify exit ${entry.verifyExit}: ${verify.stdout.slice(0, 500)}`);
    if (!entry.fsckClean) problems.push(`${name}: git fsck found problems`);
    if (conflictCommits > 0) problems.push(`${name}: ${conflictCommits} conflicts in the log`);
    problems.push(...consistencyProblems(dir).map((p) => `${name}: ${p}`));
    problems.push(...entry.audit.problems.map((p) => `${name}: ${p}`));
  }
  if (new Set(perStore.map((s) => s.head)).size !== 1)
    problems.push(
      `the stores' mains differ after the final round: ${perStore.map((s) => s.head.slice(0, 12)).join(', ')}`,
    );
  const remoteFsckClean = fsckClean(remote);
  if (!remoteFsckClean) problems.push('the remote: git fsck found problems');
  if (git(remote, 'rev-parse', 'main').trim() !== perStore[0]!.head)
    problems.push("the remote's main is not the stores' main");

  return {
    stores: storeCount,
    writers: storeCount * writersPerStore,
    records: outcomes.length,
    wallMs,
    writerLatency: latencies(outcomes),
    syncs: {
      runs: syncs.length,
      exit0: syncs.filter((s) => s.run.code === 0).length,
      killed,
      failed,
      latency: latencies(syncs.map((s) => s.run)),
      killedAt,
    },
    finalRoundExits,
    perStore,
    remoteFsckClean,
    problems,
  };
}
