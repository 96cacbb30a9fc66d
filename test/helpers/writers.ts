// Real CLI writers as child processes, for the crash tests and the stress suite: start them,
// kill them, and collect what each one reported.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const LESSONS_BIN = path.join(ROOT, 'dist/cli/lessons.cjs');

export interface WriterSpec {
  readonly dir: string;
  readonly kind: 'failure' | 'heuristic';
  /** Unique within a run: the audit finds the writer's record by it. */
  readonly title: string;
  readonly domain?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly lockTimeout?: string;
}

export interface WriterOutcome {
  readonly spec: WriterSpec;
  readonly pid: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The JSON object the writer printed, when it printed one. */
  readonly json:
    | {
        ok: boolean;
        id?: string;
        rowid?: number;
        path?: string;
        commit?: string;
        error?: { code: string; message: string };
      }
    | undefined;
  readonly stderr: string;
  /** Milliseconds from spawn to exit. */
  readonly ms: number;
}

export interface RunningWriter {
  readonly child: ChildProcess;
  readonly done: Promise<WriterOutcome>;
}

export function writerArgs(spec: WriterSpec): string[] {
  const domain = spec.domain ?? 'stress';
  const common = [
    '--dir',
    spec.dir,
    '--json',
    ...(spec.lockTimeout === undefined ? [] : ['--lock-timeout', spec.lockTimeout]),
  ];
  return spec.kind === 'failure'
    ? [
        ...common,
        'record-failure',
        '--title',
        spec.title,
        '--domain',
        domain,
        '--severity',
        'high',
        '--summary',
        `summary of ${spec.title}`,
      ]
    : [
        ...common,
        'record-heuristic',
        '--rule',
        spec.title,
        '--domain',
        domain,
        '--confidence',
        'medium',
      ];
}

/**
 * Lets a crowd of writers start at one instant. Spawning a hundred processes from this (large)
 * harness takes seconds once the first ones compete with it for the CPU, which would stagger
 * the "concurrent" writers; so each writer is spawned as a shell blocked on reading a line from
 * a FIFO, and `open` writes one line per writer: every shell then execs the CLI at once.
 */
export class StartGate {
  private readonly fifo: string;
  private readonly fd: number;
  /** performance.now() when the gate opened; undefined until then. */
  openedAt: number | undefined;

  constructor(dir: string) {
    this.fifo = path.join(dir, `start-gate-${process.pid}-${Date.now()}`);
    execFileSync('mkfifo', [this.fifo]);
    // Held open for reading and writing, so the shells never block on opening it.
    this.fd = fs.openSync(this.fifo, 'r+');
  }

  /** The command line that waits at the gate, then runs `argv`. */
  wrap(argv: readonly string[]): [string, string[]] {
    return ['/bin/sh', ['-c', 'read -r _ <"$0" && exec "$@"', this.fifo, ...argv]];
  }

  /** Let `count` waiting writers go. */
  open(count: number): void {
    this.openedAt = performance.now();
    fs.writeSync(this.fd, '\n'.repeat(count));
  }

  close(): void {
    fs.closeSync(this.fd);
    fs.rmSync(this.fifo, { force: true });
  }
}

/** Start one CLI writer; behind `gate`, it waits there and its time counts from the opening. */
export function startWriter(spec: WriterSpec, gate?: StartGate): RunningWriter {
  const started = performance.now();
  const argv = [process.execPath, LESSONS_BIN, ...writerArgs(spec)];
  const [command, args] = gate === undefined ? [argv[0]!, argv.slice(1)] : gate.wrap(argv);
  const child = spawn(command, args, {
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  const done = new Promise<WriterOutcome>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      let json: WriterOutcome['json'];
      try {
        json = JSON.parse(Buffer.concat(out).toString('utf8')) as WriterOutcome['json'];
      } catch {
        json = undefined;
      }
      resolve({
        spec,
        pid: child.pid ?? -1,
        code,
        signal,
        json,
        stderr: Buffer.concat(err).toString('utf8'),
        ms: performance.now() - (gate?.openedAt ?? started),
      });
    });
  });
  return { child, done };
}

export interface LessonsRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Milliseconds from spawn to exit. */
  readonly ms: number;
}

/** Start a lessons command (sync, verify, ...); `child` lets the caller kill it. */
export function startLessons(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; done: Promise<LessonsRun> } {
  const started = performance.now();
  const child = spawn(process.execPath, [LESSONS_BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  const done = new Promise<LessonsRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ms: performance.now() - started,
      }),
    );
  });
  return { child, done };
}

/** Run a lessons command to completion (recover, verify, ...). */
export function runLessons(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<LessonsRun> {
  return startLessons(args, env).done;
}

/** Percentile of a list of numbers (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[
    Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  ]!;
}

export interface Latencies {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** Latency percentiles of the runs that exited 0. */
export function latencies(runs: readonly { code: number | null; ms: number }[]): Latencies {
  const ms = runs.filter((r) => r.code === 0).map((r) => r.ms);
  return {
    p50: percentile(ms, 50),
    p95: percentile(ms, 95),
    p99: percentile(ms, 99),
    max: ms.length === 0 ? NaN : Math.max(...ms),
  };
}
