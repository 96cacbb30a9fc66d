// Crash rounds: groups of concurrent CLI writers, one of them killed with SIGKILL from outside
// at a random moment. Half the kills come at a random time after the victim started (most of a
// CLI run is starting up and waiting for the lock), the other half at a random time after the
// victim took the lock, so that the transaction itself is hit throughout. Each writer traces
// the steps it reaches (LESSONS_TRACE=1), so a round reports where the kills landed, the spread
// of delays, and how long the survivors waited when the victim died holding the writers' lock.
// Shared by `npm run stress -- --crash-iterations N` and the crash tests.

import { TXN_STEPS } from '../../src/util/faults.js';
import { auditStore, type AuditReport } from './audit.js';
import { runLessons, startWriter, type WriterOutcome } from '../../test/helpers/writers.js';

export interface CrashRoundOptions {
  readonly dir: string;
  readonly iterations: number;
  /** Writers started together in each iteration; one of them is the victim. @default 3 */
  readonly writersPerIteration?: number;
  /** Kills from the start land uniformly in [0, maxDelayMs) after the victim starts. @default 600 */
  readonly maxDelayMs?: number;
  /** Kills inside the transaction land uniformly in [0, lockedDelayMs) after it took the lock. @default 40 */
  readonly lockedDelayMs?: number;
  /** Titles are prefixed with this, so several rounds can share a store. @default "crash" */
  readonly label?: string;
  readonly onIteration?: (done: number) => void;
}

export interface CrashRoundReport {
  readonly iterations: number;
  readonly writers: number;
  /** Victims that died by SIGKILL (the rest had finished before their kill came). */
  readonly killed: number;
  /** Where the kills landed: the last step each victim reached, or "starting" before the lock. */
  readonly landedAt: Record<string, number>;
  /** Kills timed from the victim's start: the spread of delays, in 100 ms buckets. */
  readonly delays: { readonly min: number; readonly max: number; readonly buckets: number[] };
  /** Kills timed from the moment the victim held the lock: the spread, in 5 ms buckets. */
  readonly lockedDelays: { readonly min: number; readonly max: number; readonly buckets: number[] };
  /** Kills of a writer that held the writers' lock, and survivors waiting on it. */
  readonly killedHolders: number;
  /** Per such kill: ms from the kill until the next writer held the lock. */
  readonly waitsAfterKilledHolder: readonly number[];
  readonly recoverExit: number | null;
  readonly audit: AuditReport;
}

/** Steps during which a writer holds the writers' lock. */
const HOLDING: ReadonlySet<string> = new Set(TXN_STEPS);
const BUCKET_MS = 100;
const LOCKED_BUCKET_MS = 5;

class Spread {
  min = Infinity;
  max = 0;
  readonly buckets: number[];
  constructor(
    range: number,
    private readonly width: number,
  ) {
    this.buckets = new Array<number>(Math.max(1, Math.ceil(range / width))).fill(0);
  }
  add(ms: number): void {
    this.min = Math.min(this.min, ms);
    this.max = Math.max(this.max, ms);
    this.buckets[Math.min(this.buckets.length - 1, Math.floor(ms / this.width))]!++;
  }
  report(): { min: number; max: number; buckets: number[] } {
    return { min: this.min, max: this.max, buckets: this.buckets };
  }
}

interface Trace {
  readonly step: string;
  readonly at: number;
}

function traces(outcome: WriterOutcome): Trace[] {
  const out: Trace[] = [];
  for (const line of outcome.stderr.split('\n')) {
    const match = /^lessons-trace (\S+) (\d+(?:\.\d+)?)$/.exec(line);
    if (match) out.push({ step: match[1]!, at: Number(match[2]) });
  }
  return out;
}

export async function runCrashRound(options: CrashRoundOptions): Promise<CrashRoundReport> {
  const perIteration = options.writersPerIteration ?? 3;
  const maxDelay = options.maxDelayMs ?? 600;
  const label = options.label ?? 'crash';
  const lockedDelay = options.lockedDelayMs ?? 40;
  const outcomes: WriterOutcome[] = [];
  const landedAt: Record<string, number> = {};
  const fromStart = new Spread(maxDelay, BUCKET_MS);
  const fromLocked = new Spread(lockedDelay, LOCKED_BUCKET_MS);
  const waits: number[] = [];
  let killed = 0;
  let killedHolders = 0;

  for (let i = 0; i < options.iterations; i++) {
    const writers = Array.from({ length: perIteration }, (_, w) =>
      startWriter({
        dir: options.dir,
        kind: (i + w) % 2 === 0 ? 'failure' : 'heuristic',
        title: `${label} ${i} writer ${w}`,
        lockTimeout: '60s',
        env: { LESSONS_TRACE: '1' },
      }),
    );
    const victimIndex = Math.floor(Math.random() * perIteration);
    const victim = writers[victimIndex]!;
    let killedAt: number | undefined;
    const kill = (): void => {
      killedAt = performance.timeOrigin + performance.now();
      victim.child.kill('SIGKILL');
    };
    let timer: NodeJS.Timeout | undefined;
    if (i % 2 === 0) {
      const delay = Math.random() * maxDelay;
      fromStart.add(delay);
      timer = setTimeout(kill, delay);
    } else {
      const delay = Math.random() * lockedDelay;
      fromLocked.add(delay);
      let seen = '';
      const onTrace = (chunk: Buffer): void => {
        seen += chunk.toString('utf8');
        if (seen.includes('lessons-trace locked ')) {
          victim.child.stderr?.off('data', onTrace);
          timer = setTimeout(kill, delay);
        }
      };
      victim.child.stderr?.on('data', onTrace);
    }
    const results = await Promise.all(writers.map((w) => w.done));
    clearTimeout(timer);
    outcomes.push(...results);

    const dead = results[victimIndex]!;
    if (dead.signal === 'SIGKILL' && killedAt !== undefined) {
      killed++;
      const reached = traces(dead).filter((t) => t.at <= killedAt!);
      const last = reached.at(-1)?.step ?? 'starting';
      landedAt[last] = (landedAt[last] ?? 0) + 1;
      if (HOLDING.has(last)) {
        const nextHolder = results
          .filter((_, w) => w !== victimIndex)
          .flatMap((r) => traces(r).filter((t) => t.step === 'locked' && t.at > killedAt!))
          .map((t) => t.at - killedAt!);
        if (nextHolder.length > 0) {
          killedHolders++;
          waits.push(Math.min(...nextHolder));
        }
      }
    }
    options.onIteration?.(i + 1);
  }

  const recovered = await runLessons(['--dir', options.dir, '--json', 'recover']);
  return {
    iterations: options.iterations,
    writers: outcomes.length,
    killed,
    landedAt,
    delays: fromStart.report(),
    lockedDelays: fromLocked.report(),
    killedHolders,
    waitsAfterKilledHolder: waits,
    recoverExit: recovered.code,
    audit: auditStore(options.dir, outcomes),
  };
}
