// The MCP round of the stress suite: N `lessons mcp` servers on one store, each recording M
// records as fast as its client can send them; beside it, in the same run, N CLI loops doing
// the same on a store of their own, and a floor: N loops of M `node -e 0`. Each is timed from
// the first process started to the last one finished, and each store is audited.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { auditStore, type AuditReport } from './audit.js';
import { runLevel, type LevelReport } from './level.js';
import {
  latencies,
  LESSONS_BIN,
  percentile,
  runLessons,
  type Latencies,
  type WriterOutcome,
} from '../../test/helpers/writers.js';

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

export interface ServerLatency {
  readonly recordP50: number;
  readonly recordP95: number;
  readonly searchP50: number;
  readonly searchP95: number;
  readonly contextP50: number;
  readonly contextP95: number;
  /** The server's resident set after the calls, and the part of it that is its own (anonymous). */
  readonly rssMb: number | undefined;
  readonly anonMb: number | undefined;
}

export function residentMb(pid: number | null | undefined): {
  rss: number | undefined;
  anon: number | undefined;
} {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number | undefined => {
      const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
      return match === null ? undefined : Number(match[1]) / 1024;
    };
    return { rss: kb('VmRSS'), anon: kb('RssAnon') };
  } catch {
    return { rss: undefined, anon: undefined };
  }
}

/**
 * One `lessons mcp` on `dir`, timed per call as an agent sees it (from the client's send to
 * its answer): `records` record_failure calls, and `queries` search and context calls, after
 * a few unmeasured calls of each.
 */
export async function measureServer(
  dir: string,
  options: {
    readonly records: number;
    readonly queries: number;
    readonly words: readonly string[];
    readonly domains: readonly string[];
  },
): Promise<ServerLatency> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [LESSONS_BIN, '--dir', dir, 'mcp'],
    env: env(),
    stderr: 'ignore',
  });
  const client = new Client({ name: 'lessons-bench', version: '1.0.0' });
  await client.connect(transport);
  const timed = async (name: string, args: Record<string, unknown>): Promise<number> => {
    const started = performance.now();
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    const ms = performance.now() - started;
    if (result.isError === true)
      throw new Error(`${name} failed: ${JSON.stringify(result.structuredContent)}`);
    return ms;
  };
  try {
    const word = (i: number): string => options.words[i % options.words.length]!;
    const domain = (i: number): string => options.domains[i % options.domains.length]!;
    for (let i = 0; i < 5; i++) {
      await timed('record_failure', { title: `mcp warm-up ${i}`, domain: 'bench' });
      await timed('search', { text: word(i) });
      await timed('context', { domain: domain(i) });
    }
    const record: number[] = [];
    for (let i = 0; i < options.records; i++)
      record.push(
        await timed('record_failure', {
          title: `mcp bench record ${i}`,
          domain: 'bench',
          summary: 'one record through MCP',
        }),
      );
    const search: number[] = [];
    const context: number[] = [];
    for (let q = 0; q < options.queries; q++) {
      search.push(
        await timed('search', {
          text: q % 2 === 0 ? word(q) : `${word(q)} ${domain(q)}`,
          limit: 20,
        }),
      );
      context.push(await timed('context', { domain: domain(q), maxTokens: 2000 }));
    }
    const { rss, anon } = residentMb(transport.pid);
    return {
      recordP50: percentile(record, 50),
      recordP95: percentile(record, 95),
      searchP50: percentile(search, 50),
      searchP95: percentile(search, 95),
      contextP50: percentile(context, 50),
      contextP95: percentile(context, 95),
      rssMb: rss,
      anonMb: anon,
    };
  } finally {
    await client.close();
  }
}

/** The resident set of a bare `node` that has started and is waiting: the floor for a server. */
export async function idleNodeMb(): Promise<{ rss: number | undefined; anon: number | undefined }> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)'], { stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const resident = residentMb(child.pid);
  child.kill();
  return resident;
}
