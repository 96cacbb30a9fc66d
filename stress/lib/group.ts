// Group commit in the stress suite: the group sizes a run produced (read back from history:
// the commits of one group share a Lessons-Txid), the floor a crowd of CLI writers is measured
// against (the same number of `node -e 0` started the same way, in the same run), and rounds
// of long-lived writers (separate processes, each with a store kept open, recording in a loop).

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readRows } from '../../test/helpers/inspect.js';
import { latencies, runLessons, StartGate, type Latencies } from '../../test/helpers/writers.js';

export interface GroupSizes {
  /** Transactions that committed records. */
  readonly groups: number;
  readonly records: number;
  readonly max: number;
  readonly mean: number;
  /** Group size -> how many groups had it. */
  readonly histogram: Record<number, number>;
}

/** Commits per Lessons-Txid on main: each transaction of several commits was a group. */
export function groupSizes(dir: string): GroupSizes {
  let out = '';
  try {
    out = execFileSync(
      'git',
      ['-C', dir, 'log', '--format=%(trailers:key=Lessons-Txid,valueonly,separator=)', 'main'],
      { encoding: 'utf8', maxBuffer: 1 << 28 },
    );
  } catch {
    // no history yet
  }
  const perTxid = new Map<string, number>();
  for (const txid of out.split('\n').map((l) => l.trim()))
    if (txid !== '') perTxid.set(txid, (perTxid.get(txid) ?? 0) + 1);
  const histogram: Record<number, number> = {};
  let records = 0;
  for (const size of perTxid.values()) {
    histogram[size] = (histogram[size] ?? 0) + 1;
    records += size;
  }
  const sizes = [...perTxid.values()];
  return {
    groups: sizes.length,
    records,
    max: sizes.length === 0 ? 0 : Math.max(...sizes),
    mean: sizes.length === 0 ? 0 : records / sizes.length,
    histogram,
  };
}

export function describeGroups(g: GroupSizes): string {
  const hist = Object.entries(g.histogram)
    .map(([size, n]) => `${size}x${n}`)
    .join(' ');
  return `${g.records} records in ${g.groups} transactions (mean group ${g.mean.toFixed(1)}, max ${g.max}; size x count: ${hist})`;
}

/** Wall time of `count` `node -e 0` started at one instant through a StartGate, as the writers are. */
export async function nodeFloor(count: number): Promise<number> {
  const gate = new StartGate(os.tmpdir());
  const runs = Array.from({ length: count }, () => {
    const [command, args] = gate.wrap([process.execPath, '-e', '0']);
    const child = spawn(command, args, { stdio: 'ignore' });
    return new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', () => resolve());
    });
  });
  gate.open(count);
  const opened = gate.openedAt!;
  await Promise.all(runs);
  const wall = performance.now() - opened;
  gate.close();
  return wall;
}

// One long-lived writer: opens the store once, waits for the common start, records until the
// common end, and prints what it did as one JSON object.
const LONG_LIVED_SCRIPT = `
const { openStore } = await import(process.env.LESSONS_LIB);
const store = await openStore({ dir: process.env.LESSONS_STORE, serveInBackground: process.env.LESSONS_SERVE_IN_BACKGROUND === '1' });
const start = Number(process.env.START_AT), end = Number(process.env.END_AT);
await new Promise((r) => setTimeout(r, Math.max(0, start - Date.now())));
const ms = [], ids = [], errors = [];
while (Date.now() < end) {
  const t = performance.now();
  try {
    const r = await store.recordFailure({ title: process.env.WRITER + ' ' + ids.length, domain: 'stress', summary: 'a long-lived writer records in a loop' });
    ms.push(performance.now() - t);
    ids.push(r.id);
  } catch (e) {
    errors.push(e.code ?? String(e));
    if (errors.length > 20) break;
  }
}
await store.close();
process.stdout.write(JSON.stringify({ ms, ids, errors }));
`;

export interface LongLivedReport {
  readonly processes: number;
  readonly seconds: number;
  readonly records: number;
  readonly recordsPerSecond: number;
  readonly latencyMs: Latencies;
  readonly errors: readonly string[];
  /** Records whose commit holds them alone, with their Lessons-Id trailer. */
  readonly ownCommits: number;
  /** Records reported stored that are not in the index, or not at HEAD. */
  readonly missing: number;
  readonly groups: GroupSizes;
  readonly verifyExit: number | null;
}

/**
 * `processes` long-lived writers recording into `dir` for `seconds`, with the library at
 * `lib` (a checkout's dist/src/index.js, so two builds can be compared in one run).
 */
export async function runLongLived(options: {
  dir: string;
  processes: number;
  seconds: number;
  lib: string;
  /** Seconds allowed for the processes to start before the common start. @default 4 */
  startupSeconds?: number;
  /** Open each store with `serveInBackground` (a holder answers its caller first). @default false */
  serveInBackground?: boolean;
}): Promise<LongLivedReport> {
  const { dir, processes, seconds } = options;
  // The store exists before the round, so no writer pays for creating it.
  const seed = await runLessons([
    '--dir',
    dir,
    'record-heuristic',
    '--rule',
    'seed',
    '--domain',
    'stress',
    '--quiet',
  ]);
  if (seed.code !== 0) throw new Error(`seeding ${dir} failed: ${seed.stderr}`);
  const startAt = Date.now() + (options.startupSeconds ?? 4) * 1000;
  const endAt = startAt + seconds * 1000;
  const children = Array.from({ length: processes }, (_, w) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', LONG_LIVED_SCRIPT], {
      env: {
        ...process.env,
        LESSONS_LIB: options.lib,
        LESSONS_STORE: dir,
        START_AT: String(startAt),
        END_AT: String(endAt),
        WRITER: `long-lived ${w}`,
        LESSONS_SERVE_IN_BACKGROUND: options.serveInBackground === true ? '1' : '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    return new Promise<{ ms: number[]; ids: string[]; errors: string[] }>((resolve) => {
      child.on('close', (code) => {
        try {
          resolve(
            JSON.parse(Buffer.concat(out).toString('utf8')) as {
              ms: number[];
              ids: string[];
              errors: string[];
            },
          );
        } catch {
          resolve({
            ms: [],
            ids: [],
            errors: [`exit ${code}: ${Buffer.concat(err).toString().slice(0, 300)}`],
          });
        }
      });
    });
  });
  const results = await Promise.all(children);
  const ids = results.flatMap((r) => r.ids);
  const verify = await runLessons(['--dir', dir, 'verify']);

  // Each reported id: in index.db, and at HEAD in a commit of its own.
  const log = execFileSync('git', ['-C', dir, 'log', '--format=%x00%B', 'main'], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const alone = new Set<string>();
  for (const body of log.split('\0')) {
    const trailers = [...body.matchAll(/^Lessons-Id: (\S+)$/gm)].map((m) => m[1]!);
    if (trailers.length === 1) alone.add(trailers[0]!);
  }
  const rows = new Set(readRows(dir).map((r) => r.id));
  return {
    processes,
    seconds,
    records: ids.length,
    recordsPerSecond: ids.length / seconds,
    latencyMs: latencies(results.flatMap((r) => r.ms.map((ms) => ({ code: 0, ms })))),
    errors: results.flatMap((r) => r.errors).slice(0, 20),
    ownCommits: ids.filter((id) => alone.has(id)).length,
    missing: ids.filter((id) => !rows.has(id) || !alone.has(id)).length,
    groups: groupSizes(dir),
    verifyExit: verify.code,
  };
}

/** dist/src/index.js of a checkout, checked to exist. */
export function libraryOf(checkout: string): string {
  const lib = path.join(path.resolve(checkout), 'dist/src/index.js');
  if (!fs.existsSync(lib))
    throw new Error(`${lib} does not exist: run \`npm run build\` in ${checkout}`);
  return lib;
}
