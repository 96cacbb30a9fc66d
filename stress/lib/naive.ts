// The naive baseline, run with the same load and audited with the same questions as lessons:
// stress/naive/record-failure.sh writes file, row and commit with nothing tying them together.

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { latencies, ROOT, type Latencies } from '../../test/helpers/writers.js';

const SCRIPT = path.join(ROOT, 'stress/naive/record-failure.sh');

export interface NaiveReport {
  readonly writers: number;
  readonly runs: number;
  readonly exit0: number;
  readonly inFiles: number;
  readonly inRows: number;
  readonly inCommits: number;
  readonly orphans: number;
  readonly exit0Missing: number;
  readonly latencyMs: Latencies;
  readonly recordsPerSecond: number;
  readonly wallMs: number;
}

function sh(dir: string, command: string, args: string[]): string {
  return execFileSync(command, args, { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 28 });
}

/** A store as the old framework kept it: a git repository and an index.db with `learnings`. */
export function createNaiveStore(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  sh(dir, 'git', ['init', '-q', '-b', 'main']);
  sh(dir, 'git', ['config', 'user.name', 'naive baseline']);
  sh(dir, 'git', ['config', 'user.email', 'naive@example.invalid']);
  fs.writeFileSync(path.join(dir, '.gitignore'), 'index.db*\n');
  sh(dir, 'git', ['add', '.gitignore']);
  sh(dir, 'git', ['commit', '-q', '-m', 'init']);
  sh(dir, 'sqlite3', [
    'index.db',
    `CREATE TABLE learnings (id INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL,
       filepath TEXT NOT NULL, title TEXT NOT NULL, summary TEXT, tags TEXT, domain TEXT,
       severity INTEGER DEFAULT 1, created_at DATETIME DEFAULT CURRENT_TIMESTAMP);`,
  ]);
}

interface NaiveOutcome {
  readonly title: string;
  readonly code: number | null;
  readonly ms: number;
}

function runNaive(dir: string, title: string): Promise<NaiveOutcome> {
  const started = performance.now();
  const child = spawn('bash', [SCRIPT, dir, title, 'stress'], { stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ title, code, ms: performance.now() - started }));
  });
}

export async function runNaiveLevel(
  dir: string,
  writers: number,
  recordsPerWriter = 1,
): Promise<NaiveReport> {
  createNaiveStore(dir);
  const outcomes: NaiveOutcome[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let r = 0; r < recordsPerWriter; r++)
        outcomes.push(await runNaive(dir, `naive writer ${w} record ${r}`));
    }),
  );
  const wallMs = performance.now() - started;

  // What each store holds, keyed by title (the file's first line is "# <title>").
  const fileTitles = new Map<string, string>();
  const failures = path.join(dir, 'failures');
  for (const name of fs.existsSync(failures) ? fs.readdirSync(failures) : []) {
    const first = fs.readFileSync(path.join(failures, name), 'utf8').split('\n', 1)[0] ?? '';
    fileTitles.set(first.replace(/^# /, ''), `failures/${name}`);
  }
  const rowPaths = new Map<string, string>();
  for (const line of sh(dir, 'sqlite3', [
    '-separator',
    '\t',
    'index.db',
    'SELECT title, filepath FROM learnings',
  ])
    .split('\n')
    .filter(Boolean)) {
    const [title, file] = line.split('\t') as [string, string];
    rowPaths.set(title, file);
  }
  const head = new Set(sh(dir, 'git', ['ls-tree', '-r', '--name-only', 'HEAD']).split('\n'));

  let exit0 = 0;
  let inFiles = 0;
  let inRows = 0;
  let inCommits = 0;
  let exit0Missing = 0;
  for (const outcome of outcomes) {
    const file = fileTitles.get(outcome.title);
    const row = rowPaths.get(outcome.title);
    const committed = file !== undefined && head.has(file);
    if (file !== undefined) inFiles++;
    if (row !== undefined) inRows++;
    if (committed) inCommits++;
    if (outcome.code === 0) {
      exit0++;
      if (file === undefined || row === undefined || !committed) exit0Missing++;
    }
  }
  const orphans =
    [...fileTitles.values()].filter((p) => !head.has(p)).length +
    [...rowPaths.values()].filter((p) => !head.has(p)).length;
  return {
    writers,
    runs: outcomes.length,
    exit0,
    inFiles,
    inRows,
    inCommits,
    orphans,
    exit0Missing,
    latencyMs: latencies(outcomes),
    recordsPerSecond: exit0 / (wallMs / 1000),
    wallMs,
  };
}
