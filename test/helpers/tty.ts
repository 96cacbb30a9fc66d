// Running the command line as people do: in a real pseudo-terminal (util-linux `script`), and
// in a shell pipeline. No vitest imports.

import { spawnSync } from 'node:child_process';
import { BIN } from './store.js';

/** Quote one word for sh. */
export function shQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `node dist/cli/lessons.cjs <args>` as one sh command line. */
export function lessonsCommand(args: readonly string[]): string {
  return [process.execPath, BIN.lessons, ...args].map(shQuote).join(' ');
}

/**
 * Run an sh command line inside a pseudo-terminal: stdin, stdout and stderr are a TTY unless
 * the command line redirects them. Returns what the terminal showed and the exit code.
 */
export function inTerminal(
  command: string,
  env: NodeJS.ProcessEnv = {},
): { screen: string; code: number | null } {
  const environment: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
  delete environment.NO_COLOR;
  delete environment.FORCE_COLOR;
  const result = spawnSync('script', ['-qec', command, '/dev/null'], {
    encoding: 'utf8',
    env: { ...environment, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 26,
    timeout: 300_000,
  });
  return { screen: result.stdout, code: result.status };
}

/** Run an sh command line (a pipeline) with `set -o pipefail` off; returns stdout, stderr. */
export function inShell(
  command: string,
  env: NodeJS.ProcessEnv = {},
): { stdout: string; stderr: string; code: number | null } {
  const result = spawnSync('bash', ['-c', command], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 26,
    timeout: 300_000,
  });
  return { stdout: result.stdout, stderr: result.stderr, code: result.status };
}

/** The distinct `n/total` counts a progress bar drew. */
export function progressCounts(screen: string, total: number): number[] {
  return [
    ...new Set(
      [...screen.matchAll(new RegExp(`(\\d+)/${total}\\b`, 'g'))].map((m) => Number(m[1])),
    ),
  ];
}
