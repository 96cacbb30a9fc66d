// `npm run bench`: how lessons scales with the size of a store, measured side by side with
// native git and with `node -e 0` in the same run (the machine is shared and noisy, so only
// ratios taken together mean much).
//
//   npm run bench -- [--sizes 1000,10000,100000] [--runs 15] [--queries 200]
//
// After an unmeasured warm-up, for each size: the store is built with recordMany (its
// throughput is reported), then, in alternation, one in-process record (file + SQLite + git,
// fsynced), one in-process lifecycle event (validate: event file + row + re-fold + commit,
// fsynced) and one native `git add <file> && git commit` of a file in the same store; CLI cold
// start against `node -e 0` and the CLI's peak RSS; verify and reindex; search and context
// latency; and a `lessons mcp` server's call latency (record, search, context) as an agent sees
// it, with its resident set afterwards, beside a bare `node` waiting. Medians of --runs.
// Results go to stress/results/bench-<time>.json.

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openStore, type Store } from '../src/index.js';
import { idleNodeMb, measureServer, type ServerLatency } from './lib/mcp.js';
import { percentile, ROOT } from '../test/helpers/writers.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000,100000' },
    runs: { type: 'string', default: '15' },
    queries: { type: 'string', default: '200' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const runs = Number(values.runs);
const queries = Number(values.queries);
const RECORD_CLI = path.join(ROOT, 'dist/cli/record-failure.cjs');
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
    await store.recordMany(inputs(from, Math.min(batch, size - from)));
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

/** Peak RSS in MB of one CLI record, by /usr/bin/time, or undefined without it. */
function peakRss(dir: string): number | undefined {
  if (!fs.existsSync('/usr/bin/time')) return undefined;
  const result = spawnSync(
    '/usr/bin/time',
    [
      '-f',
      '%M',
      process.execPath,
      RECORD_CLI,
      '--dir',
      dir,
      '--title',
      'rss probe',
      '--domain',
      'bench',
      '--quiet',
    ],
    { encoding: 'utf8' },
  );
  const kb = Number(result.stderr.trim().split('\n').at(-1));
  return Number.isFinite(kb) ? kb / 1024 : undefined;
}

interface SizeResult {
  size: number;
  recordManyPerSecond: number;
  recordMs: number;
  /** One lifecycle event (validate), in-process, p50. */
  eventMs: number;
  nativeGitMs: number;
  recordVsNative: number;
  cliMs: number;
  nodeMs: number;
  cliVsNode: number;
  cliPeakRssMb: number | undefined;
  verifyMs: number;
  reindexMs: number;
  searchP50: number;
  searchP95: number;
  contextP50: number;
  contextP95: number;
  mcp: ServerLatency;
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
    const recordManyPerSecond = await build(store, size);
    git(dir, 'config', 'user.name', 'bench');
    git(dir, 'config', 'user.email', 'bench@example.invalid');
    fs.mkdirSync(path.join(dir, 'notes'));

    const record: number[] = [];
    const event: number[] = [];
    const target = await store.recordHeuristic({ rule: 'bench target rule', domain: 'bench' });
    const native: number[] = [];
    const cli: number[] = [];
    const node: number[] = [];
    for (let r = 0; r < runs; r++) {
      let started = performance.now();
      await store.recordFailure({
        title: `bench record ${r}`,
        domain: 'bench',
        summary: 'one record',
      });
      record.push(ms(started));

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
    const cliPeakRssMb = peakRss(dir);

    let started = performance.now();
    const report = await store.verify();
    const verifyMs = ms(started);
    if (!report.ok) throw new Error(`verify found ${report.findings.length} problems at ${size}`);
    started = performance.now();
    await store.reindex();
    const reindexMs = ms(started);

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
    const mcp = await measureServer(dir, {
      records: runs,
      queries,
      words: WORDS,
      domains: DOMAINS,
    });

    const result: SizeResult = {
      size,
      recordManyPerSecond,
      recordMs: median(record),
      eventMs: median(event),
      nativeGitMs: median(native),
      recordVsNative: median(record) / median(native),
      cliMs: median(cli),
      nodeMs: median(node),
      cliVsNode: median(cli) / median(node),
      cliPeakRssMb,
      verifyMs,
      reindexMs,
      searchP50: percentile(search, 50),
      searchP95: percentile(search, 95),
      contextP50: percentile(context, 50),
      contextP95: percentile(context, 95),
      mcp,
    };
    results.push(result);
    console.error(`  ${size}: done`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}

const f = (n: number | undefined, digits = 1): string =>
  n === undefined ? '-' : n.toFixed(digits);
console.log(
  '| records | recordMany rec/s | record p50 ms | event p50 ms | native git add+commit p50 ms | record / native | CLI cold ms | node -e 0 ms | CLI / node | CLI peak RSS MB | verify s | reindex s | search p50/p95 ms | context p50/p95 ms |',
);
console.log(
  '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
);
for (const r of results)
  console.log(
    `| ${r.size} | ${f(r.recordManyPerSecond, 0)} | ${f(r.recordMs)} | ${f(r.eventMs)} | ${f(r.nativeGitMs)} | ${f(r.recordVsNative, 2)} | ${f(r.cliMs)} | ${f(r.nodeMs)} | ${f(r.cliVsNode, 2)} | ${f(r.cliPeakRssMb)} | ${f(r.verifyMs / 1000, 2)} | ${f(r.reindexMs / 1000, 2)} | ${f(r.searchP50, 2)} / ${f(r.searchP95, 2)} | ${f(r.contextP50, 2)} / ${f(r.contextP95, 2)} |`,
  );
console.log(
  '\n| records | mcp record p50/p95 ms | mcp search p50/p95 ms | mcp context p50/p95 ms | CLI cold ms | mcp RSS MB (own) |',
);
console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of results)
  console.log(
    `| ${r.size} | ${f(r.mcp.recordP50)} / ${f(r.mcp.recordP95)} | ${f(r.mcp.searchP50, 2)} / ${f(r.mcp.searchP95, 2)} | ${f(r.mcp.contextP50, 2)} / ${f(r.mcp.contextP95, 2)} | ${f(r.cliMs)} | ${f(r.mcp.rssMb)} (${f(r.mcp.anonMb)}) |`,
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
