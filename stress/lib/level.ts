// One concurrency level of the stress suite: N writer processes at once, each running the CLI
// for several records in a row, with readers, `verify` and `cleanup` running beside them until
// the writers are done. Then the audit: every exit-0 record in all three stores, nothing else.

import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { auditStore, type AuditReport } from './audit.js';
import {
  latencies,
  runLessons,
  type Latencies,
  StartGate,
  startWriter,
  type RunningWriter,
  type WriterOutcome,
} from '../../test/helpers/writers.js';

export interface LevelOptions {
  readonly dir: string;
  readonly writers: number;
  /** CLI runs per writer, one after another. @default 1 */
  readonly recordsPerWriter?: number;
  /** Reader loops running `list` and `search` during the load. @default 2 */
  readonly readers?: number;
  /** Run `verify` and `cleanup` in loops during the load. @default true */
  readonly maintenance?: boolean;
  /** Probability that a writer run is killed with SIGKILL at a random moment. @default 0 */
  readonly killRate?: number;
  readonly lockTimeout?: string;
}

export interface SideLoad {
  readonly runs: number;
  /** Runs that exited with an unexpected code, or (readers) saw a record HEAD did not hold. */
  readonly failures: number;
  readonly notes: readonly string[];
}

export interface LevelReport {
  readonly writers: number;
  readonly runs: number;
  readonly audit: AuditReport;
  readonly latencyMs: Latencies;
  readonly recordsPerSecond: number;
  /** From the writers' start to the last writer's exit, in milliseconds. */
  readonly wallMs: number;
  readonly readers: SideLoad | undefined;
  readonly verifyDuringLoad: SideLoad | undefined;
  readonly cleanupDuringLoad: SideLoad | undefined;
  /** Exit code of `lessons verify` once the level is over; undefined if verify is not built. */
  readonly verifyExit: number | null | undefined;
}

/** Which commands this build of the CLI offers (verify, cleanup, list, ... land separately). */
export async function availableCommands(): Promise<Set<string>> {
  const help = await runLessons(['--help']);
  const names = new Set<string>();
  for (const match of help.stdout.matchAll(/^\s+lessons (\S+)/gm)) names.add(match[1]!);
  return names;
}

/** Every string under a "path" key, anywhere in a JSON value. */
function pathsIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) pathsIn(v, out);
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      if (k === 'path' && typeof v === 'string') out.push(v);
      else pathsIn(v, out);
    }
  return out;
}

function headPaths(dir: string): Set<string> {
  try {
    const out = execFileSync('git', ['-C', dir, 'ls-tree', '-r', '--name-only', 'HEAD'], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    return new Set(out.split('\n'));
  } catch {
    return new Set();
  }
}

/**
 * Repeat `once` until `until` settles, pausing `pauseMs` between runs; collect failures. Each
 * run is a CLI process, so the pauses keep the side loads from starving the writers of CPU.
 */
async function loop(
  until: Promise<unknown>,
  pauseMs: number,
  once: () => Promise<string | undefined>,
): Promise<SideLoad> {
  let over = false;
  void until.finally(() => (over = true));
  let runs = 0;
  const notes: string[] = [];
  while (!over) {
    const problem = await once();
    runs++;
    if (problem !== undefined) notes.push(problem);
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  return { runs, failures: notes.length, notes: notes.slice(0, 10) };
}

async function readOnce(dir: string, command: 'list' | 'search'): Promise<string | undefined> {
  const args =
    command === 'list' ? ['list', '--limit', '100000'] : ['search', 'stress', '--limit', '1000'];
  const result = await runLessons(['--dir', dir, '--json', ...args]);
  // Before the first record the store may not exist yet: that is a clean "nothing" answer
  // (exit 2 NOT_A_STORE: a store, once made, never stops being one).
  if (result.code === 2 && result.stdout.includes('"code":"NOT_A_STORE"')) return undefined;
  if (result.code !== 0 && result.code !== 1)
    return `${command} exited ${result.code}: ${result.stderr.trim().slice(0, 200)}`;
  if (result.code !== 0) return undefined;
  let seen: string[];
  try {
    seen = pathsIn(JSON.parse(result.stdout));
  } catch {
    return `${command} printed something that is not JSON`;
  }
  // HEAD only moves forward, so HEAD read after the query holds every committed record it saw.
  const head = headPaths(dir);
  const unseen = seen.filter((p) => !head.has(p));
  return unseen.length === 0
    ? undefined
    : `${command} showed ${unseen.length} records HEAD does not hold: ${unseen[0]}`;
}

export async function runLevel(options: LevelOptions): Promise<LevelReport> {
  const perWriter = options.recordsPerWriter ?? 1;
  const killRate = options.killRate ?? 0;
  const commands = await availableCommands();
  const outcomes: WriterOutcome[] = [];
  // The first round of writers starts at one instant (see StartGate); later rounds each start
  // as soon as the writer before them in their slot exits.
  const gate = new StartGate(os.tmpdir());
  let started = performance.now();

  const writerLoop = async (w: number): Promise<void> => {
    for (let r = 0; r < perWriter; r++) {
      const running: RunningWriter = startWriter(
        {
          dir: options.dir,
          kind: (w + r) % 2 === 0 ? 'failure' : 'heuristic',
          title: `level ${options.writers} writer ${w} record ${r}`,
          lockTimeout: options.lockTimeout ?? '60s',
        },
        r === 0 ? gate : undefined,
      );
      if (Math.random() < killRate) {
        const timer = setTimeout(() => running.child.kill('SIGKILL'), Math.random() * 1000);
        void running.done.finally(() => clearTimeout(timer));
      }
      outcomes.push(await running.done);
    }
  };
  // Throughput is the writers' own: from the gate's opening to the last one's exit. The side
  // loads run throughout, but their last round (and its pause) after that is not counted.
  let writersMs = 0;
  const spawned = Array.from({ length: options.writers }, (_, w) => writerLoop(w));
  gate.open(options.writers);
  started = gate.openedAt!;
  const writing = Promise.all(spawned).finally(() => {
    writersMs = performance.now() - started;
    gate.close();
  });

  const side = <T>(enabled: boolean, run: () => Promise<T>): Promise<T | undefined> =>
    enabled ? run() : Promise.resolve(undefined);
  const readerCount = options.readers ?? 2;
  const maintenance = options.maintenance ?? true;
  const [, readerLoads, verifyLoad, cleanupLoad] = await Promise.all([
    writing,
    side(readerCount > 0 && commands.has('list') && commands.has('search'), () =>
      Promise.all(
        Array.from({ length: readerCount }, (_, i) =>
          loop(writing, 250, () => readOnce(options.dir, i % 2 === 0 ? 'list' : 'search')),
        ),
      ),
    ),
    side(maintenance && commands.has('verify'), () =>
      loop(writing, 1000, async () => {
        const result = await runLessons(['--dir', options.dir, '--json', 'verify']);
        // Before the first record lands verify may find no store (exit 2); later it must be clean.
        return result.code === 0 || (result.code === 2 && outcomes.length === 0)
          ? undefined
          : `verify exited ${result.code}: ${result.stdout.slice(0, 300)}`;
      }),
    ),
    side(maintenance && commands.has('cleanup'), () =>
      loop(writing, 1000, async () => {
        // No grace period: files of transactions in flight must be recognised by the journal.
        const result = await runLessons([
          '--dir',
          options.dir,
          '--json',
          'cleanup',
          '--grace',
          '0s',
        ]);
        // As for verify: before the first writer has made the store there is none to clean.
        const noStoreYet =
          result.code === 2 && result.stdout.includes('NOT_A_STORE') && outcomes.length === 0;
        return result.code === 0 || noStoreYet
          ? undefined
          : `cleanup exited ${result.code}: ${(result.stdout + result.stderr).slice(0, 300)}`;
      }),
    ),
  ]);

  if (killRate > 0) await runLessons(['--dir', options.dir, 'recover']);
  const verifyExit = commands.has('verify')
    ? (await runLessons(['--dir', options.dir, 'verify'])).code
    : undefined;
  const audit = auditStore(options.dir, outcomes);
  const readers =
    readerLoads === undefined
      ? undefined
      : {
          runs: readerLoads.reduce((n, l) => n + l.runs, 0),
          failures: readerLoads.reduce((n, l) => n + l.failures, 0),
          notes: readerLoads.flatMap((l) => l.notes).slice(0, 10),
        };
  return {
    writers: options.writers,
    runs: outcomes.length,
    audit,
    latencyMs: latencies(outcomes),
    recordsPerSecond: audit.exit0 / (writersMs / 1000),
    wallMs: writersMs,
    readers,
    verifyDuringLoad: verifyLoad,
    cleanupDuringLoad: cleanupLoad,
    verifyExit,
  };
}
