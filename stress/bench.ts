// `npm run bench`: how lessons scales with the size of a store, measured side by side with
// native git and with `node -e 0` in the same run (the machine is shared and noisy, so only
// ratios taken together mean much).
//
//   npm run bench -- [--sizes 1000,10000] [--runs 15] [--queries 200] [--skip-mcp] [--events]
//   npm run bench -- --sizes 1000,10000,100000,1000000     (1M: see docs/performance.md for
//                                                           the time and disk it takes)
//
// After an unmeasured warm-up, for each size: the store is built with recordMany (its
// throughput, the time the build took, the disk the store uses and the bench's peak RSS are
// reported), then, in alternation, one in-process record (file + SQLite + git, fsynced), one
// in-process lifecycle event (validate: event file + row + re-fold + commit, fsynced), the record's
// floor (as many fsyncs of small files and folders, on the same disk, as that record made) and
// one native `git add <file> && git commit` of a file in the same store; CLI cold start against
// `node -e 0` and the CLI's peak RSS; `lessons verify`, `verify --deep` and `reindex` as child
// processes (wall time and peak RSS of each), and `verify` again after the reindex (which keeps
// the writers' secret-scan marks of rows it rebuilt unchanged); search and context latency in process; and a
// `lessons mcp` server's call latency (record, search, context) as an agent sees it, with its
// resident set afterwards, beside a bare `node` waiting. Medians of --runs.
// Results go to stress/results/bench-<time>.json.
//
// --events builds each store with as many lifecycle events as records: every heuristic (one
// record in four) carries four (validate, violate, update, promote), as an import of a
// framework's counts makes them, so context, search and the reads fold over them.

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
// Before the library: it wraps fs.fsync to count a record's fsyncs.
import { countFsyncs, fsyncFloor, type FsyncCount } from './lib/fsyncs.js';
import { openStore, type Store } from '../src/index.js';
import { idleNodeMb, measureServer, type ServerLatency } from './lib/mcp.js';
import { percentile, ROOT } from '../test/helpers/writers.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000' },
    runs: { type: 'string', default: '15' },
    queries: { type: 'string', default: '200' },
    'skip-mcp': { type: 'boolean', default: false },
    events: { type: 'boolean', default: false },
  },
});
const sizes = values.sizes.split(',').map(Number);
const runs = Number(values.runs);
const queries = Number(values.queries);
const RECORD_CLI = path.join(ROOT, 'dist/cli/record-failure.cjs');
const LESSONS_CLI = path.join(ROOT, 'dist/cli/lessons.cjs');
const DOMAINS = ['infra', 'database', 'ci', 'frontend', 'agents', 'security', 'release', 'ops'];
const WORDS = [
  'cache',
  'retry',
  'migration',
  'deploy',
  'timeout',
  'lock',
  'index',
  'queue',
  'token',
  'schema',
];

const median = (xs: readonly number[]): number => percentile(xs, 50);
const ms = (start: number): number => performance.now() - start;

/**
 * Records as a store accumulates them over three years: dates spread over 36 months, so the
 * failures/YYYY/MM folders hold what a month holds, not the whole store.
 */
function inputs(from: number, count: number) {
  const now = Date.now();
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    const created = new Date(now - (i % 1096) * 86_400_000 - 3_600_000).toISOString();
    const word = WORDS[i % WORDS.length]!;
    const domain = DOMAINS[i % DOMAINS.length]!;
    return i % 4 === 0
      ? {
          kind: 'heuristic' as const,
          created,
          rule: `Rule ${i}: check the ${word} before acting`,
          domain,
          confidence: ((i % 10) + 1) / 10,
          tags: [word, `t${i % 13}`],
          explanation: `Learnt from incident ${i} with the ${word}.`,
        }
      : {
          kind: 'failure' as const,
          created,
          title: `Failure ${i}: the ${word} broke in ${domain}`,
          domain,
          severity: (i % 5) + 1,
          tags: [word, `t${i % 13}`],
          summary: `The ${word} in ${domain} failed during run ${i}.`,
          prevention: `Guard the ${word} with a check.`,
        };
  });
}

async function build(store: Store, size: number): Promise<number> {
  const batch = 5000;
  let spent = 0;
  for (let from = 0; from < size; from += batch) {
    const started = performance.now();
    const batchInputs = inputs(from, Math.min(batch, size - from));
    await store.recordMany(
      batchInputs,
      values.events
        ? {
            // validate (6) and violate (1) events, an update to a prior the formula would not
            // give, and a promote the formula would not make: four events per heuristic.
            lifecycle: batchInputs.map((input) =>
              input.kind === 'heuristic'
                ? { validations: 6, violations: 1, confidence: 0.55, golden: true }
                : undefined,
            ),
          }
        : {},
    );
    spent += ms(started);
    if (process.stderr.isTTY)
      process.stderr.write(`\r  building ${Math.min(from + batch, size)}/${size}`);
  }
  if (process.stderr.isTTY) process.stderr.write('\n');
  return size / (spent / 1000);
}

function git(dir: string, ...args: string[]): void {
  execFileSync('git', ['-C', dir, ...args], { stdio: 'ignore' });
}

interface Timed {
  /** Wall time, measured here. */
  ms: number;
  /** Peak RSS by /usr/bin/time, undefined without it. */
  peakRssMb: number | undefined;
  status: number | null;
}

/** Run `node <args>` under /usr/bin/time (when there is one): wall time and peak RSS. */
function timed(args: readonly string[]): Timed {
  const time = fs.existsSync('/usr/bin/time');
  const started = performance.now();
  const result = spawnSync(
    time ? '/usr/bin/time' : process.execPath,
    time ? ['-f', '%M', process.execPath, ...args] : args,
    { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 * 1024 * 1024 },
  );
  const ms = performance.now() - started;
  const kb = time ? Number(result.stderr.trim().split('\n').at(-1)) : NaN;
  return { ms, peakRssMb: Number.isFinite(kb) ? kb / 1024 : undefined, status: result.status };
}

/** Disk used by a folder in MB (`du`), with .git and index.db apart. */
function diskMb(dir: string): { total: number; git: number; index: number } {
  const du = (p: string): number =>
    fs.existsSync(p)
      ? Number(execFileSync('du', ['-sk', p], { encoding: 'utf8' }).split('\t')[0]) / 1024
      : 0;
  return {
    total: du(dir),
    git: du(path.join(dir, '.git')),
    index: ['', '-wal', '-shm'].reduce((sum, s) => sum + du(path.join(dir, `index.db${s}`)), 0),
  };
}

/** The bench process's peak RSS so far, in MB. */
const ownPeakMb = (): number => process.resourceUsage().maxRSS / 1024;

interface SizeResult {
  size: number;
  /** Lifecycle event files the store holds (--events). */
  events: number;
  recordManyPerSecond: number;
  buildSeconds: number;
  disk: { total: number; git: number; index: number };
  /** This bench process's peak RSS after the build (it holds nothing of the store). */
  buildPeakRssMb: number;
  recordMs: number;
  /** One lifecycle event (validate), in-process, p50. */
  eventMs: number;
  /** The fsyncs one record makes (SQLite's WAL commit included), and their time alone. */
  recordFsyncs: FsyncCount;
  fsyncFloorMs: number;
  nativeGitMs: number;
  recordVsNative: number;
  cliMs: number;
  nodeMs: number;
  cliVsNode: number;
  cliPeakRssMb: number | undefined;
  verifyMs: number;
  verifyRssMb: number | undefined;
  verifyStatus: number | null;
  deepStatus: number | null;
  reindexStatus: number | null;
  deepMs: number;
  deepRssMb: number | undefined;
  reindexMs: number;
  reindexRssMb: number | undefined;
  /** verify right after reindex (which kept the rows' secret-scan marks). */
  verifyReindexedMs: number;
  verifyReindexedStatus: number | null;
  searchP50: number;
  searchP95: number;
  contextP50: number;
  contextP95: number;
  mcp: ServerLatency | undefined;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lessons-bench-'));
const results: SizeResult[] = [];
try {
  // Warm-up, not measured: the first size would otherwise pay for compiling every code path
  // (V8 tiers up on use) and for the file system's first touches of a fresh tree.
  {
    const store = await openStore({ dir: path.join(work, 'warm-up') });
    await store.recordMany(inputs(0, 600));
    for (let r = 0; r < 5; r++)
      await store.recordFailure({ title: `warm-up ${r}`, domain: 'bench', summary: 'warm-up' });
    await store.verify();
    await store.reindex();
    await store.close();
    fs.rmSync(path.join(work, 'warm-up'), { recursive: true, force: true });
  }
  for (const size of sizes) {
    const dir = path.join(work, `store-${size}`);
    const store = await openStore({ dir });
    const building = performance.now();
    const recordManyPerSecond = await build(store, size);
    const buildSeconds = ms(building) / 1000;
    const buildPeakRssMb = ownPeakMb();
    const disk = diskMb(dir);
    git(dir, 'config', 'user.name', 'bench');
    git(dir, 'config', 'user.email', 'bench@example.invalid');
    fs.mkdirSync(path.join(dir, 'notes'));

    const record: number[] = [];
    const event: number[] = [];
    const target = await store.recordHeuristic({ rule: 'bench target rule', domain: 'bench' });
    const floor: number[] = [];
    let recordFsyncs: FsyncCount = { files: 0, dirs: 0 };
    const native: number[] = [];
    const cli: number[] = [];
    const node: number[] = [];
    for (let r = 0; r < runs; r++) {
      let started = performance.now();
      recordFsyncs = await countFsyncs(() =>
        store.recordFailure({
          title: `bench record ${r}`,
          domain: 'bench',
          summary: 'one record',
        }),
      );
      record.push(ms(started));
      // SQLite fsyncs its WAL at COMMIT (synchronous = FULL), out of the count's sight.
      recordFsyncs.files += 1;
      floor.push(fsyncFloor(path.join(work, `floor-${size}`), recordFsyncs));

      started = performance.now();
      await store.validate(target.id, { note: `bench ${r}` });
      event.push(ms(started));

      const file = `notes/native-${r}.md`;
      fs.writeFileSync(path.join(dir, file), `native ${r}\n`);
      started = performance.now();
      git(dir, 'add', file);
      git(dir, 'commit', '-q', '-m', `native ${r}`);
      native.push(ms(started));

      started = performance.now();
      spawnSync(process.execPath, ['-e', '0']);
      node.push(ms(started));
      started = performance.now();
      const out = spawnSync(process.execPath, [
        RECORD_CLI,
        '--dir',
        dir,
        '--title',
        `cli ${r}`,
        '--domain',
        'bench',
        '--quiet',
      ]);
      cli.push(ms(started));
      if (out.status !== 0)
        throw new Error(`record-failure exited ${out.status}: ${out.stderr.toString()}`);
    }
    const probe = [RECORD_CLI, '--dir', dir, '--title', 'rss probe', '--domain', 'bench'];
    const cliPeakRssMb = timed([...probe, '--quiet']).peakRssMb;

    // A failing exit is reported beside its figure (a long run at 1M keeps its other results).
    const verify = timed([LESSONS_CLI, '--dir', dir, '--quiet', 'verify']);
    const deep = timed([LESSONS_CLI, '--dir', dir, '--quiet', 'verify', '--deep']);
    const reindex = timed([LESSONS_CLI, '--dir', dir, '--quiet', 'reindex']);
    const reindexed = timed([LESSONS_CLI, '--dir', dir, '--quiet', 'verify']);
    for (const [name, run] of Object.entries({ verify, deep, reindex, reindexed }))
      if (run.status !== 0) console.error(`  ${size}: ${name} exited ${run.status}`);
    let started: number;

    const search: number[] = [];
    const context: number[] = [];
    for (let q = 0; q < queries; q++) {
      const word = WORDS[q % WORDS.length]!;
      started = performance.now();
      await store.search(q % 2 === 0 ? word : `${word} ${DOMAINS[q % DOMAINS.length]}`, {
        limit: 20,
      });
      search.push(ms(started));
      started = performance.now();
      await store.context({ domain: DOMAINS[q % DOMAINS.length], maxTokens: 2000 });
      context.push(ms(started));
    }
    await store.close();
    const mcp = values['skip-mcp']
      ? undefined
      : await measureServer(dir, {
          records: runs,
          queries,
          words: WORDS,
          domains: DOMAINS,
        });

    const eventsDir = path.join(dir, 'events');
    const result: SizeResult = {
      size,
      events: fs.existsSync(eventsDir)
        ? fs
            .readdirSync(eventsDir, { recursive: true, encoding: 'utf8' })
            .filter((f) => f.endsWith('.md')).length
        : 0,
      recordManyPerSecond,
      buildSeconds,
      disk,
      buildPeakRssMb,
      recordMs: median(record),
      eventMs: median(event),
      recordFsyncs,
      fsyncFloorMs: median(floor),
      nativeGitMs: median(native),
      recordVsNative: median(record) / median(native),
      cliMs: median(cli),
      nodeMs: median(node),
      cliVsNode: median(cli) / median(node),
      cliPeakRssMb,
      verifyMs: verify.ms,
      verifyRssMb: verify.peakRssMb,
      verifyStatus: verify.status,
      deepStatus: deep.status,
      reindexStatus: reindex.status,
      deepMs: deep.ms,
      deepRssMb: deep.peakRssMb,
      reindexMs: reindex.ms,
      reindexRssMb: reindex.peakRssMb,
      verifyReindexedMs: reindexed.ms,
      verifyReindexedStatus: reindexed.status,
      searchP50: percentile(search, 50),
      searchP95: percentile(search, 95),
      contextP50: percentile(context, 50),
      contextP95: percentile(context, 95),
      mcp,
    };
    results.push(result);
    // Each size's figures as they come: a long run that is stopped keeps what it measured.
    console.error(`  ${size}: ${JSON.stringify(result)}`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}

const f = (n: number | undefined, digits = 1): string =>
  n === undefined ? '-' : n.toFixed(digits);
const exit = (status: number | null): string => (status === 0 ? '' : ` exit ${status}`);
const table = (head: string[], rows: string[][]): void => {
  console.log(`\n| ${head.join(' | ')} |`);
  console.log(`| ${head.map(() => '---:').join(' | ')} |`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
};
table(
  ['records', 'build s', 'recordMany rec/s', 'disk MB (.git / index.db)', 'bench peak RSS MB'],
  results.map((r) => [
    r.events === 0 ? String(r.size) : `${r.size} (+${r.events} events)`,
    f(r.buildSeconds),
    f(r.recordManyPerSecond, 0),
    `${f(r.disk.total, 0)} (${f(r.disk.git, 0)} / ${f(r.disk.index, 0)})`,
    f(r.buildPeakRssMb, 0),
  ]),
);
table(
  [
    'records',
    'record p50 ms',
    'event p50 ms',
    'fsync floor ms (files+dirs)',
    'record / floor',
    'native git add+commit p50 ms',
    'record / native',
    'CLI cold ms',
    'node -e 0 ms',
    'CLI / node',
    'CLI peak RSS MB',
  ],
  results.map((r) => [
    r.events === 0 ? String(r.size) : `${r.size} (+${r.events} events)`,
    f(r.recordMs),
    f(r.eventMs),
    `${f(r.fsyncFloorMs)} (${r.recordFsyncs.files}+${r.recordFsyncs.dirs})`,
    f(r.recordMs / r.fsyncFloorMs, 2),
    f(r.nativeGitMs),
    f(r.recordVsNative, 2),
    f(r.cliMs),
    f(r.nodeMs),
    f(r.cliVsNode, 2),
    f(r.cliPeakRssMb),
  ]),
);
table(
  [
    'records',
    'verify s (RSS MB)',
    'verify --deep s (RSS MB)',
    'reindex s (RSS MB)',
    'verify after reindex s',
    'search p50/p95 ms',
    'context p50/p95 ms',
  ],
  results.map((r) => [
    r.events === 0 ? String(r.size) : `${r.size} (+${r.events} events)`,
    `${f(r.verifyMs / 1000, 2)} (${f(r.verifyRssMb, 0)})${exit(r.verifyStatus)}`,
    `${f(r.deepMs / 1000, 2)} (${f(r.deepRssMb, 0)})${exit(r.deepStatus)}`,
    `${f(r.reindexMs / 1000, 2)} (${f(r.reindexRssMb, 0)})${exit(r.reindexStatus)}`,
    `${f(r.verifyReindexedMs / 1000, 2)}${exit(r.verifyReindexedStatus)}`,
    `${f(r.searchP50, 2)} / ${f(r.searchP95, 2)}`,
    `${f(r.contextP50, 2)} / ${f(r.contextP95, 2)}`,
  ]),
);
const served = results.filter((r) => r.mcp !== undefined);
if (served.length > 0)
  table(
    [
      'records',
      'mcp record p50/p95 ms',
      'mcp search p50/p95 ms',
      'mcp context p50/p95 ms',
      'mcp RSS MB (own)',
    ],
    served.map(({ size, mcp }) => [
      String(size),
      `${f(mcp!.recordP50)} / ${f(mcp!.recordP95)}`,
      `${f(mcp!.searchP50, 2)} / ${f(mcp!.searchP95, 2)}`,
      `${f(mcp!.contextP50, 2)} / ${f(mcp!.contextP95, 2)}`,
      `${f(mcp!.rssMb)} (${f(mcp!.anonMb)})`,
    ]),
  );
const bareNode = await idleNodeMb();
console.log(
  `a bare node waiting: RSS ${f(bareNode.rss)} MB (own ${f(bareNode.anon)} MB); "own" is anonymous memory, the rest is the node binary and libraries, shared between processes.`,
);
if (results.length > 1) {
  const first = results[0]!;
  const last = results.at(-1)!;
  console.log(
    `\nrecord p50 at ${last.size} / at ${first.size}: ${(last.recordMs / first.recordMs).toFixed(2)}`,
  );
}
const dirOut = path.join(ROOT, 'stress/results');
fs.mkdirSync(dirOut, { recursive: true });
const file = path.join(dirOut, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
fs.writeFileSync(file, `${JSON.stringify({ runs, queries, results, bareNode }, null, 2)}\n`);
console.log(`results: ${path.relative(ROOT, file)}`);
