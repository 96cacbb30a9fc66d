// How long a sync takes to bring N new remote records into a store, as the store grows:
// the figure to watch is that it follows the records fetched, not the store's size.
//
//   npx tsx stress/sync-bench.ts -- [--sizes 1000,10000,100000] [--fetched 1000] [--one-folder]
//                                   [--cpu-prof DIR]
//
// The store's records are dated over three years (a month's folder holds a month's records);
// the fetched ones are new, dated now. --one-folder dates the store's records now too: every
// record in one folder, whose tree every merge then reads and rewrites whole.
//
// For each size: store A is built with recordMany and pushed to a bare remote; B is cloned
// from it and records one lesson of its own (so the sync is a merge, the harder case); A
// records --fetched more and pushes. Then `lessons sync` in B, through the CLI, is timed, and
// B is checked (every record there, verify clean). Beside it, in the same run: native
// `git fetch` + `git merge` of the same commits in a plain clone, the floor of the transport.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openStore, type RecordInput } from '../src/index.js';
import { ROOT } from '../test/helpers/writers.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000,100000' },
    fetched: { type: 'string', default: '1000' },
    // Every record of the store in the current month's folder (the worst case for tree reads).
    'one-folder': { type: 'boolean', default: false },
    // The timed sync runs under `node --cpu-prof`, its profile written into DIR.
    'cpu-prof': { type: 'string' },
  },
});
const LESSONS = path.join(ROOT, 'dist/cli/lessons.cjs');
const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@example.invalid',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@example.invalid',
};

function run(cmd: string, args: readonly string[], cwd = ROOT): string {
  return execFileSync(cmd, args, { cwd, env: GIT_ENV, encoding: 'utf8', maxBuffer: 1 << 28 });
}

function lessons(...args: string[]): string {
  return run(process.execPath, [LESSONS, ...args]);
}

/**
 * `n` failures. With `spread`, dated over the last three years as a store accumulates them (so
 * a month's folder holds a month's records); without, dated now, as new records are.
 */
function inputs(n: number, tag: string, spread: boolean): RecordInput[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => ({
    kind: 'failure' as const,
    ...(spread
      ? { created: new Date(now - (i % 1096) * 86_400_000 - 3_600_000).toISOString() }
      : {}),
    title: `${tag} lesson ${i}`,
    domain: ['infra', 'ci', 'database', 'ops'][i % 4]!,
    summary: `what ${tag} learned, number ${i}`,
  }));
}

async function recordMany(dir: string, n: number, tag: string, spread: boolean): Promise<void> {
  const store = await openStore({ dir });
  try {
    for (let at = 0; at < n; at += 20_000)
      await store.recordMany(inputs(Math.min(20_000, n - at), `${tag}${at}`, spread));
  } finally {
    await store.close();
  }
}

function timed(fn: () => void): number {
  const start = performance.now();
  fn();
  return (performance.now() - start) / 1000;
}

const fetched = Number(values.fetched);
const results: object[] = [];
for (const size of values.sizes.split(',').map(Number)) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lessons-sync-bench-'));
  try {
    const remote = path.join(root, 'team.git');
    const a = path.join(root, 'a');
    const b = path.join(root, 'b');
    const plain = path.join(root, 'plain');
    run('git', ['init', '--quiet', '--bare', '--initial-branch=main', remote]);
    await recordMany(a, size, 'base', !values['one-folder']);
    lessons('--dir', a, 'remote', 'add', 'origin', remote);
    lessons('--dir', a, 'sync');
    lessons('clone', remote, '--dir', b);
    run('git', ['clone', '--quiet', '--branch', 'main', remote, plain]);
    lessons('--dir', b, 'record-failure', '--title', 'local to b', '--domain', 'ops');
    run('git', ['-C', plain, 'commit', '--quiet', '--allow-empty', '-m', 'local to plain']);
    await recordMany(a, fetched, 'new', false);
    lessons('--dir', a, 'sync');

    let report: { integrations: { action: string; changed: number }[] } | undefined;
    const syncSeconds = timed(() => {
      const prof = values['cpu-prof'];
      const args = ['--dir', b, '--json', 'sync'];
      report = JSON.parse(
        prof === undefined
          ? lessons(...args)
          : run(process.execPath, ['--cpu-prof', '--cpu-prof-dir', prof, LESSONS, ...args]),
      ) as typeof report;
    });
    const nativeSeconds = timed(() => {
      run('git', ['-C', plain, 'fetch', '--quiet', 'origin']);
      run('git', ['-C', plain, 'merge', '--quiet', '--no-edit', 'origin/main']);
    });
    const verify = JSON.parse(
      execFileSync(process.execPath, [LESSONS, '--dir', b, '--json', 'verify'], {
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      }),
    ) as { ok: boolean; records: number };
    const line = {
      size,
      fetched,
      syncSeconds: Number(syncSeconds.toFixed(2)),
      nativeFetchMergeSeconds: Number(nativeSeconds.toFixed(2)),
      action: report?.integrations.map((i) => i.action).join(','),
      changed: report?.integrations.reduce((n, i) => n + i.changed, 0),
      oneFolder: values['one-folder'],
      records: verify.records,
      verifyOk: verify.ok,
    };
    results.push(line);
    console.log(JSON.stringify(line));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
fs.mkdirSync(path.join(ROOT, 'stress/results'), { recursive: true });
fs.writeFileSync(
  path.join(ROOT, `stress/results/sync-bench-${Date.now()}.json`),
  `${JSON.stringify(results, null, 2)}\n`,
);
