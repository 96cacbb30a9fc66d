// `lessons mcp` as a real child process, spoken to by the SDK's own client over stdio.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { onTestFinished } from 'vitest';
import { BIN, ROOT } from './store.js';

export interface McpSession {
  readonly client: Client;
  readonly pid: number;
  /** Everything the server wrote to stderr so far. */
  readonly stderr: () => string;
  /** Call a tool; the client checks the structured content against the tool's output schema. */
  readonly call: (name: string, args?: Record<string, unknown>) => Promise<CallToolResult>;
  readonly close: () => Promise<void>;
}

/** Start `lessons --dir <dir> [args] mcp` and connect a client; closed when the test ends. */
export async function startMcp(
  dir: string,
  options: { env?: NodeJS.ProcessEnv; args?: readonly string[] } = {},
): Promise<McpSession> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...options.env }))
    if (v !== undefined) env[k] = v;
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN.lessons, '--dir', dir, ...(options.args ?? []), 'mcp'],
    env,
    cwd: ROOT,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const client = new Client({ name: 'lessons-test', version: '1.0.0' });
  await client.connect(transport);
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await client.close();
  };
  onTestFinished(close);
  return {
    client,
    pid: transport.pid!,
    stderr: () => stderr,
    call: async (name, args = {}) =>
      (await client.callTool({ name, arguments: args })) as CallToolResult,
    close,
  };
}

/** The structured content of a tool result, typed loosely for assertions. */
export function structured(result: CallToolResult): Record<string, unknown> {
  return result.structuredContent ?? {};
}

/** The text of a tool result's first content block. */
export function textOf(result: CallToolResult): string {
  const first = result.content[0];
  return first?.type === 'text' ? first.text : '';
}
