// The MCP round of the stress suite: N `lessons mcp` servers on one store, each recording M
// records as fast as its client can send them; beside it, in the same run, N CLI loops doing
// the same on a store of their own, and a floor: N loops of M `node -e 0`. Each is timed from
// the first process started to the last one finished, and each store is audited.

import { spawn } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { auditStore, type AuditReport } from './audit.js';
import { runLevel, type LevelReport } from './level.js';
import {
  latencies,
  LESSONS_BIN,
  runLessons,
  type Latencies,
  type WriterOutcome,
} from './writers.js';

export interface McpRoundOptions {
  readonly mcpDir: string;
  readonly cliDir: string;
  readonly servers: number;
  readonly recordsPerServer: number;
}

export interface McpSide {
  readonly processes: number;
  readonly records: number;
  readonly stored: number;
  readonly failed: number;
  /** From the first server spawned to the last one exited. */
  readonly wallMs: number;
  readonly recordsPerSecond: number;
  /** The slowest server's time from spawn to answering its initialize request. */
  readonly slowestConnectMs: number;
  /** Records stored per second from the last server connected to the last record answered. */
  readonly recordsPerSecondConnected: number;
  /** Per record: from sending the call to its answer. */
  readonly callMs: Latencies;
  readonly audit: AuditReport;
  readonly verifyExit: number | null;
  readonly errors: readonly string[];
}

export interface McpRoundReport {
  readonly mcp: McpSide;
  readonly cli: LevelReport;
  /** N loops of M `node -e 0`, at once: what N×M process starts alone cost on this machine. */
  readonly floor: { readonly wallMs: number; readonly processesPerSecond: number };
}

function env(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) out[k] = v;
  return out;
}

async function runServers(options: McpRoundOptions): Promise<McpSide> {
  const outcomes: WriterOutcome[] = [];
  const errors: string[] = [];
  const connectedAt: number[] = [];
  const connectMs: number[] = [];
  let lastAnswer = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.servers }, async (_, s) => {
      const spawnedAt = performance.now();
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [LESSONS_BIN, '--dir', options.mcpDir, '--lock-timeout', '60s', 'mcp'],
        env: env(),
        stderr: 'ignore',
      });
      const client = new Client({ name: 'lessons-stress', version: '1.0.0' });
      try {
        await client.connect(transport);
        connectedAt.push(performance.now());
        connectMs.push(performance.now() - spawnedAt);
        for (let r = 0; r < options.recordsPerServer; r++) {
          const title = `mcp server ${s} record ${r}`;
          const kind = (s + r) % 2 === 0 ? 'failure' : 'heuristic';
          const callStarted = performance.now();
          const result = (await client.callTool(
            {
              name: kind === 'failure' ? 'record_failure' : 'record_heuristic',
              arguments:
                kind === 'failure'
                  ? { title, domain: 'stress', severity: 'high', summary: `summary of ${title}` }
                  : { rule: title, domain: 'stress', confidence: 'medium' },
            },
            undefined,
            { timeout: 120_000 },
          )) as CallToolResult;
          lastAnswer = performance.now();
          const json = result.structuredContent as WriterOutcome['json'];
          if (result.isError === true) errors.push(`${title}: ${JSON.stringify(json?.error)}`);
          outcomes.push({
            spec: { dir: options.mcpDir, kind, title },
            pid: transport.pid ?? -1,
            code: result.isError === true ? 1 : 0,
            signal: null,
            json,
            stderr: '',
            ms: lastAnswer - callStarted,
          });
        }
      } catch (error) {
        errors.push(`server ${s}: ${(error as Error).message}`);
      } finally {
        await client.close();
      }
    }),
  );
  const wallMs = performance.now() - started;
  const audit = auditStore(options.mcpDir, outcomes);
  const verifyExit = (await runLessons(['--dir', options.mcpDir, 'verify'])).code;
  const records = options.servers * options.recordsPerServer;
  const lastConnected = Math.max(...connectedAt);
  return {
    processes: options.servers,
    records,
    stored: audit.exit0,
    failed: outcomes.length - audit.exit0 + (records - outcomes.length),
    wallMs,
    recordsPerSecond: audit.exit0 / (wallMs / 1000),
    slowestConnectMs: Math.max(...connectMs),
    recordsPerSecondConnected: audit.exit0 / ((lastAnswer - lastConnected) / 1000),
    callMs: latencies(outcomes),
    audit,
    verifyExit,
    errors: errors.slice(0, 10),
  };
}

/** N loops of M `node -e 0` at once. */
async function floor(loops: number, perLoop: number): Promise<McpRoundReport['floor']> {
  const started = performance.now();
  await Promise.all(
    Array.from({ length: loops }, async () => {
      for (let i = 0; i < perLoop; i++)
        await new Promise((resolve, reject) =>
          spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' })
            .on('close', resolve)
            .on('error', reject),
        );
    }),
  );
  const wallMs = performance.now() - started;
  return { wallMs, processesPerSecond: (loops * perLoop) / (wallMs / 1000) };
}

export async function runMcpRound(options: McpRoundOptions): Promise<McpRoundReport> {
  const mcp = await runServers(options);
  const cli = await runLevel({
    dir: options.cliDir,
    writers: options.servers,
    recordsPerWriter: options.recordsPerServer,
    readers: 0,
    maintenance: false,
  });
  return { mcp, cli, floor: await floor(options.servers, options.recordsPerServer) };
}
