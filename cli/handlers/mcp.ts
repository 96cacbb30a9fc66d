// `lessons mcp` through yargs: load the server bundle (dist/cli/mcp.cjs, which holds the MCP
// SDK) and serve until the client goes away.

import path from 'node:path';
import { loadCached, type McpBundle } from '../cached.js';
import type { GlobalArgs } from '../output.js';

export async function mcp(args: GlobalArgs): Promise<void> {
  const file = path.join(__dirname, 'mcp.cjs');
  const bundle = loadCached<McpBundle>(file);
  if (bundle === undefined) throw new Error(`${file} is missing: run \`npm run build\``);
  await bundle.serveMcp(args);
}
