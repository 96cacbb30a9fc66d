// `lessons mcp`: load the server bundle (dist/cli/mcp.cjs, which holds the MCP SDK) and serve
// until the client goes away.

import path from 'node:path';
import { parseDuration } from '../../src/util/duration.js';
import { loadCached, type McpBundle } from '../cached.js';
import type { GlobalArgs } from '../output.js';

/**
 * A write waits this long for a busy store before LOCK_TIMEOUT: well within the 60 s after which
 * MCP clients commonly give up on a request, so the agent hears "busy, nothing stored" rather
 * than a timeout that leaves it guessing.
 */
export const MCP_LOCK_TIMEOUT_MS = 30_000;

export async function mcp(args: GlobalArgs): Promise<void> {
  const lockTimeoutMs =
    args.lockTimeout === undefined
      ? MCP_LOCK_TIMEOUT_MS
      : parseDuration('--lock-timeout', args.lockTimeout);
  const file = path.join(__dirname, 'mcp.cjs');
  const bundle = loadCached<McpBundle>(file);
  if (bundle === undefined) throw new Error(`${file} is missing: run \`npm run build\``);
  await bundle.serveStdio({ dir: args.dir, lockTimeoutMs, version: __LESSONS_VERSION__ });
}
