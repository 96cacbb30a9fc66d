// `npm run stress`: real CLI writers at rising concurrency, with readers and maintenance
// running beside them, audited store by store; the naive baseline under the same load; and
// crash rounds that SIGKILL writers at random moments.
//
//   npm run stress -- [--levels 5,10,15,20,30,50,100] [--records 1] [--readers 2]
//                     [--kill-rate 0] [--no-baseline] [--no-maintenance] [--crash-iterations 0]
//                     [--crash-max-delay 600] [--keep]
//
// One row per level on stdout; the full reports as JSON under stress/results/.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runCrashRound, type CrashRoundReport } from './lib/crash.js';
import { runLevel, type LevelReport } from './lib/level.js';
import { runNaiveLevel, type NaiveReport } from './lib/naive.js';
import { ROOT } from './lib/writers.js';

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
  levels: { lessons: LevelReport; naive?: NaiveReport }[];
  crash?: CrashRoundReport;
} = { started: new Date().toISOString(), options: values, levels: [] };
let failed = false;

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
  const entry: (typeof results.levels)[number] = { lessons };
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

const resultsDir = path.join(ROOT, 'stress/results');
fs.mkdirSync(resultsDir, { recursive: true });
const file = path.join(resultsDir, `stress-${results.started.replace(/[:.]/g, '-')}.json`);
fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nresults: ${path.relative(ROOT, file)}`);
if (values.keep) console.log(`stores kept in ${work}`);
else fs.rmSync(work, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
