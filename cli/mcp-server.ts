// `lessons mcp` as a bundle of its own (dist/cli/mcp.cjs), holding the server and the MCP SDK;
// nothing else loads it. The bins come here straight from launch.ts when the command line is
// plainly `lessons [--dir D] [--lock-timeout T] mcp` (a long-lived process need not keep
// yargs in memory), and through yargs (handlers/mcp.ts) for anything else.

import { parseArgs } from 'node:util';
import { serveStdio } from '../src/mcp/server.js';
import { parseDuration } from '../src/util/duration.js';
import type { GlobalArgs } from './output.js';
import { GLOBAL_OPTIONS, reportError } from './report.js';

/**
 * A write waits this long for a busy store before LOCK_TIMEOUT: well within the 60 s after which
 * MCP clients commonly give up on a request, so the agent hears "busy, nothing stored" rather
 * than a timeout that leaves it guessing.
 */
export const MCP_LOCK_TIMEOUT_MS = 30_000;

/** Serve the store the global flags name, until the client goes away. */
export async function serveMcp(args: GlobalArgs): Promise<void> {
  const lockTimeoutMs =
    args.lockTimeout === undefined
      ? MCP_LOCK_TIMEOUT_MS
      : parseDuration('--lock-timeout', args.lockTimeout);
  await serveStdio({ dir: args.dir, lockTimeoutMs, version: __LESSONS_VERSION__ });
}

/**
 * Run `lessons <argv>` if it is plainly the mcp command with global flags; false, having done
 * nothing, otherwise (help, version, `--`, an unknown or repeated flag), for yargs to handle.
 */
export async function runMcpFast(argv: readonly string[]): Promise<boolean> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: Object.fromEntries(
        Object.entries(GLOBAL_OPTIONS).map(([name, spec]) => [
          name,
          { type: spec.type === 'boolean' ? ('boolean' as const) : ('string' as const) },
        ]),
      ),
      strict: true,
      allowPositionals: true,
      tokens: true,
    });
  } catch {
    return false;
  }
  if (parsed.positionals.length !== 1 || parsed.positionals[0] !== 'mcp') return false;
  const names = parsed.tokens.filter((t) => t.kind === 'option').map((t) => t.name);
  if (parsed.tokens.some((t) => t.kind === 'option-terminator')) return false;
  if (new Set(names).size !== names.length) return false;
  const values = parsed.values as { dir?: string; 'lock-timeout'?: string };
  try {
    await serveMcp({ dir: values.dir, lockTimeout: values['lock-timeout'] });
  } catch (error) {
    process.exitCode = reportError(error, argv, 'lessons');
  }
  return true;
}
