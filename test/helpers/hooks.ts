// The hook scripts (scripts/hooks/) run as an agent framework runs them: `sh script`, JSON or
// nothing on stdin, waiting until their stdout and stderr close.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { openStore } from '../../src/index.js';
import { BIN, ROOT, tempDir } from './store.js';

export const SESSION_START = path.join(ROOT, 'scripts/hooks/session-start.sh');
export const AFTER_FAILURE = path.join(ROOT, 'scripts/hooks/after-failure.sh');

/** A directory holding a `lessons` that runs this checkout's build. */
export function lessonsBinDir(): string {
  const bin = tempDir();
  const shim = path.join(bin, 'lessons');
  fs.writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${BIN.lessons}" "$@"\n`);
  fs.chmodSync(shim, 0o755);
  return bin;
}

export interface HookResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runHook(
  script: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; keepStdinOpen?: boolean; cwd?: string } = {},
): { done: Promise<HookResult>; pid: number } {
  const child = spawn('sh', [script, ...args], {
    cwd: options.cwd ?? tempDir(),
    env: {
      ...process.env,
      LESSONS_HOOK_LOG: path.join(tempDir(), 'hooks.log'),
      // A loaded machine can take longer than the hooks' 2 s for a read; the tests that are
      // about that limit set it themselves.
      LESSONS_HOOK_TIMEOUT: '120',
      ...options.env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  child.stdin.on('error', () => undefined);
  if (options.input !== undefined) child.stdin.write(options.input);
  if (options.keepStdinOpen !== true) child.stdin.end();
  // 'close': the exit and the end of stdout and stderr, which is what a framework waits for.
  const done = new Promise<HookResult>((resolve) =>
    child.on('close', (code) => {
      child.stdin.destroy();
      resolve({ code, stdout, stderr });
    }),
  );
  return { done, pid: child.pid! };
}

export function expectOneWarning(result: HookResult, pattern: RegExp): void {
  expect(result.code).toBe(0);
  const lines = result.stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^lessons hook: /);
  expect(lines[0]).toMatch(pattern);
}

export async function waitFor(predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Processes whose command line contains `marker`: pid, state, parent, session. */
export function processesWith(
  marker: string,
): { pid: number; state: string; ppid: number; sid: number }[] {
  const found = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (!cmdline.includes(marker)) continue;
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      found.push({
        pid: Number(name),
        state: fields[0]!,
        ppid: Number(fields[1]),
        sid: Number(fields[3]),
      });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

export function sessionOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
}

export function stateOf(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

export async function storeWith(dir: string, domain: string): Promise<void> {
  const store = await openStore({ dir });
  await store.recordHeuristic({ rule: `Check the fixtures of ${domain} first`, domain });
  await store.recordFailure({ title: 'npm test failed on stale fixtures', domain });
  await store.close();
}
