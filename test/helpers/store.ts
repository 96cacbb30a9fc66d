// Fixtures that build and inspect real stores: temp directories, native git, sqlite, the CLI.

import { spawn, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, onTestFinished } from 'vitest';
import type { TxnStep } from '../../src/util/faults.js';
import { startWriter, type WriterOutcome } from './writers.js';

export * from './inspect.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = {
  lessons: path.join(ROOT, 'dist/cli/lessons.cjs'),
  recordFailure: path.join(ROOT, 'dist/cli/record-failure.cjs'),
  recordHeuristic: path.join(ROOT, 'dist/cli/record-heuristic.cjs'),
};

/** A fresh temporary directory, removed when the test ends. */
export function tempDir(prefix = 'lessons-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A path for a store that does not exist yet, inside a temp directory. */
export function tempStore(): string {
  return path.join(tempDir(), 'store');
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Parsed stdout when it is one JSON object. */
  readonly json: Record<string, unknown> | undefined;
}

/** Run a CLI bin as a real child process. */
export function runCli(
  bin: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string | Buffer; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const spawnOptions: SpawnOptions = {
      env: { ...process.env, ...options.env },
      cwd: options.cwd ?? ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    };
    const child = spawn(process.execPath, [bin, ...args], spawnOptions);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(options.input ?? '');
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(stdout) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      resolve({ code, signal, stdout, stderr: Buffer.concat(err).toString('utf8'), json });
    });
  });
}

export function lessons(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string | Buffer; cwd?: string } = {},
): Promise<CliResult> {
  return runCli(BIN.lessons, args, options);
}

/** Run a CLI writer that SIGKILLs itself at a named step (LESSONS_TEST_KILL_AT). */
export async function startWriterKilledAt(dir: string, step: string): Promise<WriterOutcome> {
  return startWriter({
    dir,
    kind: 'failure',
    title: `killed at ${step}`,
    env: { LESSONS_TEST_KILL_AT: step },
  }).done;
}

/** The steps after main moved (the commit point): a writer killed there has stored its record. */
export const AFTER_REF: ReadonlySet<TxnStep> = new Set([
  'ref',
  'index',
  'commit',
  'committed',
  'answered',
  'done',
]);

/** A new store holding one record, written by the CLI. */
export async function seededByCli(): Promise<string> {
  const dir = tempStore();
  const seed = await startWriter({ dir, kind: 'heuristic', title: 'seed rule' }).done;
  expect(seed.code).toBe(0);
  return dir;
}
