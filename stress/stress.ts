// `npm run stress`: real CLI writers at rising concurrency, with readers and maintenance
// running beside them, audited store by store; the naive baseline under the same load; and
// crash rounds that SIGKILL writers at random moments.
//
//   npm run stress -- [--levels 5,10,15,20,30,50,100] [--records 1] [--readers 2]
//                     [--kill-rate 0] [--no-baseline] [--no-maintenance] [--crash-iterations 0]
//                     [--crash-max-delay 600] [--keep]
//   npm run stress -- --mcp [--mcp-servers 20] [--mcp-records 20]
//   npm run stress -- --long-lived 16 [--seconds 10] [--compare <checkout>]
//   npm run stress -- --sync [--sync-stores 3] [--sync-writers 30] [--sync-records 100]
//                     [--sync-every 1000] [--sync-kills 50]
//
// Each level also measures its floor, in the same run: as many `node -e 0` as writers, started
// the same way (at one instant, through the start gate), and reports the ratio, with the group
// sizes history shows (commits sharing a Lessons-Txid were one group commit).
//
// --long-lived runs N separate processes, each with a store kept open (the library API),
// recording in a loop for --seconds; then the same with stores opened with serveInBackground
// (a group's holder answers its own caller first); then one such writer alone. With
// --compare, the single writer alone is measured with that checkout's build too (e.g. main
// built in /tmp), alternately.
//
// --sync runs the team round instead (stress/lib/sync.ts): stores cloned from one bare remote,
// each with --sync-writers CLI writers making --sync-records records while `lessons sync` runs
// on it every --sync-every ms; first with no kills, then with --sync-kills syncs SIGKILLed at
// random moments. After a final sync round every store must hold every record once, verify and
// git fsck clean everywhere, no conflict in any log.
//
// --mcp runs the MCP round instead (stress/lib/mcp.ts): N `lessons mcp` servers on one store,
// each recording M records, beside N CLI loops doing the same and a floor of `node -e 0`.
//
// One row per level on stdout; the full reports as JSON under stress/results/.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runCrashRound, type CrashRoundReport } from './lib/crash.js';
import { runMcpRound, type McpRoundReport } from './lib/mcp.js';
import { runSyncRound, type SyncRoundReport } from './lib/sync.js';
import { runLevel, type LevelReport } from './lib/level.js';
import { runNaiveLevel, type NaiveReport } from './lib/naive.js';
import { ROOT } from '../test/helpers/writers.js';
import {
  describeGroups,
  groupSizes,
  libraryOf,
  nodeFloor,
  runLongLived,
  type GroupSizes,
  type LongLivedReport,
} from './lib/group.js';

const { values } = parseArgs({
  options: {
    levels: { type: 'string', default: '5,10,15,20,30,50,100' },
    records: { type: 'string', default: '1' },
    readers: { type: 'string', default: '2' },
    'kill-rate': { type: 'string', default: '0' },
    'no-baseline': { type: 'boolean', default: false },
    'no-maintenance': { type: 'boolean', default: false },
    'crash-iterations': { type: 'string', default: '0' },
    'crash-max-delay': { type: 'string', default: '600' },
    keep: { type: 'boolean', default: false },
    mcp: { type: 'boolean', default: false },
    'mcp-servers': { type: 'string', default: '20' },
    'mcp-records': { type: 'string', default: '20' },
    'long-lived': { type: 'string' },
    seconds: { type: 'string', default: '10' },
    compare: { type: 'string' },
    sync: { type: 'boolean', default: false },
    'sync-stores': { type: 'string', default: '3' },
    'sync-writers': { type: 'string', default: '30' },
    'sync-records': { type: 'string', default: '100' },
    'sync-every': { type: 'string', default: '1000' },
    'sync-kills': { type: 'string', default: '50' },
  },
});

function count(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`--${name}: "${value}" is not a number >= 0.`);
    process.exit(2);
  }
  return n;
}

const levels = values.levels
  .split(',')
  .filter((v) => v !== '')
  .map((v) => count('levels', v));
const records = count('records', values.records);
const readers = count('readers', values.readers);
const killRate = count('kill-rate', values['kill-rate']);
const crashIterations = count('crash-iterations', values['crash-iterations']);
const crashMaxDelay = count('crash-max-delay', values['crash-max-delay']);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lessons-stress-'));
const COLUMNS = [
  'system',
  'writers',
  'runs',
  'exit 0',
  'in files',
  'in rows',
  'in commits',
  'orphans',
  'exit-0 missing',
  'rowid 0',
  'p50 ms',
  'p95 ms',
  'p99 ms',
  'max ms',
  'records/s',
  'verify',
];

function cells(values: (string | number)[]): string {
  return `| ${values.map((v) => (typeof v === 'number' ? formatNumber(v) : v)).join(' | ')} |`;
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return '-';
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

function lessonsRow(r: LevelReport): string {
  const a = r.audit;
  const verify =
    r.verifyExit === undefined ? 'n/a' : r.verifyExit === 0 ? 'clean' : `exit ${r.verifyExit}`;
  return cells([
    'lessons',
    r.writers,
    r.runs,
    a.exit0,
    a.inFiles,
    a.inRows,
    a.inCommits,
    a.orphans,
    a.exit0Missing,
    a.rowidZero,
    r.latencyMs.p50,
    r.latencyMs.p95,
    r.latencyMs.p99,
    r.latencyMs.max,
    r.recordsPerSecond,
    verify,
  ]);
}

function naiveRow(r: NaiveReport): string {
  return cells([
    'naive',
    r.writers,
    r.runs,
    r.exit0,
    r.inFiles,
    r.inRows,
    r.inCommits,
    r.orphans,
    r.exit0Missing,
    '-',
    r.latencyMs.p50,
    r.latencyMs.p95,
    r.latencyMs.p99,
    r.latencyMs.max,
    r.recordsPerSecond,
    'n/a',
  ]);
}

function sideLoads(r: LevelReport): string {
  const parts = [
    ['readers', r.readers],
    ['verify', r.verifyDuringLoad],
    ['cleanup', r.cleanupDuringLoad],
  ] as const;
  return parts
    .map(([name, load]) =>
      load === undefined ? `${name}: n/a` : `${name}: ${load.runs} runs, ${load.failures} failed`,
    )
    .join('; ');
}

function crashSummary(r: CrashRoundReport): string {
  const waits = r.waitsAfterKilledHolder;
  const worst = waits.length === 0 ? '-' : `${Math.max(...waits).toFixed(0)} ms`;
  const landed = Object.entries(r.landedAt)
    .sort(([, a], [, b]) => b - a)
    .map(([step, n]) => `${step} ${n}`)
    .join(', ');
  return [
    `crash: ${r.iterations} iterations, ${r.writers} writer runs, ${r.killed} killed, ${r.audit.exit0} exit 0`,
    `  kills landed at: ${landed}`,
    `  kills timed from the writer's start: ${r.delays.min.toFixed(0)}-${r.delays.max.toFixed(0)} ms after it, per 100 ms: ${r.delays.buckets.join(' ')}`,
    `  kills timed from taking the lock: ${r.lockedDelays.min.toFixed(1)}-${r.lockedDelays.max.toFixed(1)} ms after it, per 5 ms: ${r.lockedDelays.buckets.join(' ')}`,
    `  killed lock holders with a writer waiting: ${r.killedHolders}; worst wait until the next writer held the lock: ${worst}`,
    `  after recover (exit ${r.recoverExit}): exit-0 missing ${r.audit.exit0Missing}, half present ${r.audit.halfPresent}, orphans ${r.audit.orphans}, problems ${r.audit.problems.length}`,
  ].join('\n');
}

const results: {
  started: string;
  options: typeof values;
  levels: {
    lessons: LevelReport;
    naive?: NaiveReport;
    floorMs?: number;
    groups?: GroupSizes;
  }[];
  longLived?: {
    crowd: LongLivedReport;
    background: LongLivedReport;
    alone: { build: string; report: LongLivedReport }[];
  };
  crash?: CrashRoundReport;
  mcp?: McpRoundReport;
  sync?: SyncRoundReport[];
} = { started: new Date().toISOString(), options: values, levels: [] };
let failed = false;

if (values.sync) {
  results.sync = [];
  const kills = count('sync-kills', values['sync-kills']);
  for (const k of kills > 0 ? [0, kills] : [0]) {
    const report = await runSyncRound({
      dir: path.join(work, `sync-kills-${k}`),
      stores: count('sync-stores', values['sync-stores']),
      writersPerStore: count('sync-writers', values['sync-writers']),
      recordsPerStore: count('sync-records', values['sync-records']),
      syncEveryMs: count('sync-every', values['sync-every']),
      kills: k,
      onProgress: (line) => {
        if (process.stderr.isTTY) process.stderr.write(`\r  ${line}   `);
      },
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    results.sync.push(report);
    console.log(syncSummary(report, k));
    for (const problem of report.problems.slice(0, 20)) console.error(`  ${problem}`);
    if (report.problems.length > 0) failed = true;
  }
  finish();
}

function syncSummary(r: SyncRoundReport, kills: number): string {
  const s = r.syncs;
  const codes = Object.entries(s.failed)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  const landed = Object.entries(s.killedAt)
    .sort(([, a], [, b]) => b - a)
    .map(([step, n]) => `${step} ${n}`)
    .join(', ');
  return [
    `sync round${kills > 0 ? ` with ${kills} syncs killed` : ''}: ${r.stores} stores, ${r.writers} writers, ${r.records} records in ${(r.wallMs / 1000).toFixed(1)} s (final round included); writer p50 ${r.writerLatency.p50.toFixed(0)} ms, p99 ${r.writerLatency.p99.toFixed(0)} ms`,
    `  syncs: ${s.runs} runs, ${s.exit0} exit 0, ${s.killed} killed${landed === '' ? '' : ` (at: ${landed})`}, failed: ${codes === '' ? 'none' : codes}; p50 ${s.latency.p50.toFixed(0)} ms, p95 ${s.latency.p95.toFixed(0)} ms`,
    ...r.perStore.map(
      (p) =>
        `  ${p.store}: ${p.records} records (${p.distinctIds} distinct), exit-0 missing ${p.audit.exit0Missing}, half present ${p.audit.halfPresent}, orphans ${p.audit.orphans}, verify ${p.verifyExit === 0 ? 'clean' : `exit ${p.verifyExit}`}, fsck ${p.fsckClean ? 'clean' : 'FAILED'}, conflicts ${p.conflictCommits}, main ${p.head.slice(0, 12)}`,
    ),
    `  remote: fsck ${r.remoteFsckClean ? 'clean' : 'FAILED'}; final round exits ${r.finalRoundExits.join(' ')}; ${r.problems.length === 0 ? 'sound' : `${r.problems.length} problems`}`,
  ].join('\n');
}

if (values.mcp) {
  const mcp = await runMcpRound({
    mcpDir: path.join(work, 'mcp'),
    cliDir: path.join(work, 'cli'),
    servers: count('mcp-servers', values['mcp-servers']),
    recordsPerServer: count('mcp-records', values['mcp-records']),
  });
  results.mcp = mcp;
  console.log(mcpTable(mcp));
  for (const problem of [...mcp.mcp.errors, ...mcp.mcp.audit.problems, ...mcp.cli.audit.problems])
    console.error(`  ${problem}`);
  failed =
    mcp.mcp.stored !== mcp.mcp.records ||
    mcp.mcp.audit.problems.length > 0 ||
    mcp.mcp.verifyExit !== 0 ||
    mcp.cli.audit.problems.length > 0 ||
    mcp.cli.verifyExit !== 0;
  finish();
}

function mcpTable(r: McpRoundReport): string {
  const m = r.mcp;
  const c = r.cli;
  const verify = (code: number | null | undefined): string =>
    code === undefined ? 'n/a' : code === 0 ? 'clean' : `exit ${code}`;
  return [
    cells([
      'system',
      'processes',
      'records',
      'stored',
      'in files',
      'in rows',
      'in commits',
      'orphans',
      'wall s',
      'records/s',
      'p50 ms',
      'p95 ms',
      'max ms',
      'verify',
    ]),
    cells(Array.from({ length: 14 }, () => '---')),
    cells([
      'lessons mcp',
      m.processes,
      m.records,
      m.stored,
      m.audit.inFiles,
      m.audit.inRows,
      m.audit.inCommits,
      m.audit.orphans,
      m.wallMs / 1000,
      m.recordsPerSecond,
      m.callMs.p50,
      m.callMs.p95,
      m.callMs.max,
      verify(m.verifyExit),
    ]),
    cells([
      'CLI loops',
      c.writers,
      c.runs,
      c.audit.exit0,
      c.audit.inFiles,
      c.audit.inRows,
      c.audit.inCommits,
      c.audit.orphans,
      c.wallMs / 1000,
      c.recordsPerSecond,
      c.latencyMs.p50,
      c.latencyMs.p95,
      c.latencyMs.max,
      verify(c.verifyExit),
    ]),
    '',
    `mcp: slowest server answered initialize ${m.slowestConnectMs.toFixed(0)} ms after its spawn; from the last one connected: ${m.recordsPerSecondConnected.toFixed(1)} records/s. Latency is per call for mcp, per process for the CLI.`,
    `floor: ${c.writers} loops of ${c.runs / Math.max(1, c.writers)} \`node -e 0\` at once: ${(r.floor.wallMs / 1000).toFixed(1)} s, ${r.floor.processesPerSecond.toFixed(1)} processes/s.`,
  ].join('\n');
}

function finish(): never {
  const resultsDir = path.join(ROOT, 'stress/results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `stress-${results.started.replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nresults: ${path.relative(ROOT, file)}`);
  if (values.keep) console.log(`stores kept in ${work}`);
  else fs.rmSync(work, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
}

if (values['long-lived'] !== undefined) {
  const processes = count('long-lived', values['long-lived']);
  const seconds = count('seconds', values.seconds);
  const lib = libraryOf(ROOT);
  const crowd = await runLongLived({
    dir: path.join(work, 'long-lived'),
    processes,
    seconds,
    lib,
  });
  console.log(longLivedLine(`${processes} long-lived writers`, crowd));
  // The same crowd with stores opened to serve in the background (a holder's caller goes on).
  const background = await runLongLived({
    dir: path.join(work, 'long-lived-background'),
    processes,
    seconds,
    lib,
    serveInBackground: true,
  });
  console.log(
    longLivedLine(`${processes} long-lived writers, serveInBackground: true`, background),
  );
  // One writer alone, this build and (with --compare) another, alternately.
  const builds: [string, string][] = [['this build', lib]];
  if (values.compare !== undefined) builds.push(['compared', libraryOf(values.compare)]);
  const alone: { build: string; report: LongLivedReport }[] = [];
  for (let round = 0; round < 2; round++)
    for (const [build, buildLib] of builds) {
      const report = await runLongLived({
        dir: path.join(work, `alone-${build.replace(/\W/g, '-')}-${round}`),
        processes: 1,
        seconds: Math.max(3, seconds / 2),
        lib: buildLib,
        startupSeconds: 2,
      });
      alone.push({ build, report });
      console.log(longLivedLine(`1 writer alone, ${build} (round ${round + 1})`, report));
    }
  if (builds.length > 1) {
    const rate = (b: string): number =>
      alone.filter((a) => a.build === b).reduce((n, a) => n + a.report.records, 0);
    console.log(
      `single writer: this build / compared = ${(rate('this build') / rate('compared')).toFixed(2)} (records in the same time)`,
    );
  }
  results.longLived = { crowd, background, alone };
  failed =
    [crowd, background].some((r) => r.missing > 0 || r.verifyExit !== 0 || r.errors.length > 0) ||
    alone.some((a) => a.report.missing > 0 || a.report.verifyExit !== 0);
  finish();
}

function longLivedLine(name: string, r: LongLivedReport): string {
  return [
    `${name}: ${r.records} records in ${r.seconds} s = ${r.recordsPerSecond.toFixed(1)} records/s; ` +
      `latency p50 ${r.latencyMs.p50.toFixed(1)} ms, p99 ${r.latencyMs.p99.toFixed(1)} ms, max ${r.latencyMs.max.toFixed(0)} ms`,
    `  each in a commit of its own: ${r.ownCommits}/${r.records}; missing ${r.missing}; errors ${r.errors.length}${r.errors.length === 0 ? '' : ` (${r.errors.slice(0, 3).join('; ')})`}; verify ${r.verifyExit === 0 ? 'clean' : `exit ${r.verifyExit}`}`,
    `  groups: ${describeGroups(r.groups)}`,
  ].join('\n');
}

console.log(cells(COLUMNS));
console.log(cells(COLUMNS.map(() => '---')));
for (const writers of levels) {
  const lessons = await runLevel({
    dir: path.join(work, `lessons-${writers}`),
    writers,
    recordsPerWriter: records,
    readers,
    maintenance: !values['no-maintenance'],
    killRate,
  });
  console.log(lessonsRow(lessons));
  // The floor, in the same run: as many bare node processes, started the same way.
  const floorMs = await nodeFloor(writers);
  const groups = groupSizes(path.join(work, `lessons-${writers}`));
  console.error(
    `  level ${writers}: wall ${(lessons.wallMs / 1000).toFixed(1)} s, floor (${writers} node -e 0) ${(floorMs / 1000).toFixed(1)} s: ${(lessons.wallMs / floorMs).toFixed(2)}x the floor; p99 ${lessons.latencyMs.p99.toFixed(0)} ms`,
  );
  console.error(`  level ${writers}: ${describeGroups(groups)}`);
  const entry: (typeof results.levels)[number] = { lessons, floorMs, groups };
  if (!values['no-baseline']) {
    entry.naive = await runNaiveLevel(path.join(work, `naive-${writers}`), writers, records);
    console.log(naiveRow(entry.naive));
  }
  results.levels.push(entry);
  const clean =
    lessons.audit.problems.length === 0 &&
    (killRate > 0 || lessons.audit.exit0 === lessons.runs) &&
    (lessons.verifyExit === undefined || lessons.verifyExit === 0) &&
    [lessons.readers, lessons.verifyDuringLoad, lessons.cleanupDuringLoad].every(
      (l) => l === undefined || l.failures === 0,
    );
  if (!clean) {
    failed = true;
    console.error(`  level ${writers}: ${sideLoads(lessons)}`);
    for (const problem of [
      ...lessons.audit.problems,
      ...[lessons.readers, lessons.verifyDuringLoad, lessons.cleanupDuringLoad].flatMap(
        (l) => l?.notes ?? [],
      ),
    ].slice(0, 20))
      console.error(`  ${problem}`);
  } else {
    console.error(`  level ${writers}: ${sideLoads(lessons)}`);
  }
}

if (crashIterations > 0) {
  const crash = await runCrashRound({
    dir: path.join(work, 'crash'),
    iterations: crashIterations,
    maxDelayMs: crashMaxDelay,
    onIteration: (done) => {
      if (process.stderr.isTTY)
        process.stderr.write(`\r  crash iteration ${done}/${crashIterations}`);
    },
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  console.log(`\n${crashSummary(crash)}`);
  for (const problem of crash.audit.problems.slice(0, 20)) console.error(`  ${problem}`);
  results.crash = crash;
  if (crash.audit.problems.length > 0 || crash.recoverExit !== 0) failed = true;
}

finish();
