// Cold start of `record-failure` for two builds side by side, beside `node -e 0`: the runs
// alternate A, B, floor, so the machine's noise falls on all three alike.
//
//   npx tsx stress/cold-start.ts --a <checkout> --b <checkout> [--runs 40]
//
// Each build records into a store of its own (created first, unmeasured). Reports the median
// and p90 wall time of each, each build's median over the floor, and the median CPU time
// (user + system, GNU time's 10 ms resolution).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { percentile } from '../test/helpers/writers.js';

const { values } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    runs: { type: 'string', default: '40' },
  },
});
if (values.a === undefined || values.b === undefined)
  throw new Error('usage: stress/cold-start.ts --a <checkout> --b <checkout> [--runs N]');
const runs = Number(values.runs);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lessons-cold-'));
const env = {
  ...process.env,
  LESSONS_AUTHOR_NAME: 'bench',
  LESSONS_AUTHOR_EMAIL: 'bench@lessons.invalid',
};

interface Subject {
  readonly name: string;
  readonly args: (i: number) => string[];
  readonly ms: number[];
  /** user + system CPU, from GNU time: less sensitive to a loaded machine than wall time. */
  readonly cpu: number[];
}

const build = (name: string, checkout: string): Subject => {
  const bin = path.join(path.resolve(checkout), 'dist/cli/record-failure.cjs');
  const dir = path.join(scratch, name);
  const args = (i: number): string[] => [
    bin,
    '--dir',
    dir,
    '--title',
    `cold ${i}`,
    '--domain',
    'bench',
    '--quiet',
  ];
  spawnSync(process.execPath, args(-1), { env, stdio: 'inherit' });
  return { name, args, ms: [], cpu: [] };
};

const subjects = [
  build('a', values.a),
  build('b', values.b),
  { name: 'node -e 0', args: () => ['-e', '0'], ms: [] as number[], cpu: [] as number[] },
];
try {
  for (let i = 0; i < runs; i++)
    for (const s of subjects) {
      const start = performance.now();
      const run = spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, ...s.args(i)], {
        env,
        encoding: 'utf8',
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      s.ms.push(performance.now() - start);
      if (run.status !== 0) throw new Error(`${s.name} exited ${run.status}: ${run.stderr}`);
      const [user, system] = run.stderr.trim().split('\n').pop()!.split(' ').map(Number);
      s.cpu.push((user! + system!) * 1000);
    }
  const floor = percentile(subjects[2]!.ms, 50);
  for (const s of subjects) {
    const p50 = percentile(s.ms, 50);
    console.log(
      `${s.name.padEnd(10)} wall p50 ${p50.toFixed(1)} ms  p90 ${percentile(s.ms, 90).toFixed(1)} ms  ${(p50 / floor).toFixed(2)}x node -e 0   cpu p50 ${percentile(s.cpu, 50).toFixed(0)} ms`,
    );
  }
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}
