// `lessons mcp`: the store served to agents over the Model Context Protocol, on stdio, with the
// official SDK's low-level Server (tools.ts, resources.ts and prompts.ts hold the tables). The
// low-level server, rather than McpServer, so that a bad argument comes back as INVALID_INPUT
// naming the field and the fix, as on the command line, not as the SDK's own validation text.
// Nothing but protocol goes to stdout: logs (and anything that calls console.log) go to stderr.

import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  type CallToolResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/types.js';
import { openStore, type Store } from '../store/store.js';
import { protocolError, RESOURCE_NOT_FOUND, toolError } from './errors.js';
import { PROMPTS } from './prompts.js';
import { isTemplate, matchResource, RESOURCES } from './resources.js';
import { inputJsonSchema, outputJsonSchema, parseArguments } from './schema.js';
import { TOOLS, type LessonsTool } from './tools.js';

export interface LessonsServerOptions {
  readonly store: Store;
  /** Reported to clients as the server's version. */
  readonly version: string;
  /** Where log lines go. @default a line on stderr */
  readonly log?: ((line: string) => void) | undefined;
}

const INSTRUCTIONS = `lessons keeps what was learnt in this project: failures and heuristics (rules), each stored as a Markdown file, an index row and a git commit.
- At the start of a task, read the digest of its domain: the \`context\` tool, or the resource lessons://context/{domain}.
- Before a risky change, or when something fails, \`search\` for it.
- When something went wrong and you found why, \`record_failure\` (with the prevention); when you learnt a rule, \`record_heuristic\`.
Errors come back as tool results with a stable code (INVALID_INPUT: fix the named argument; LOCK_TIMEOUT: the store is busy, try again later). Nothing is stored by a call that fails.`;

/**
 * The SDK's Server validates a client's answers to elicitation requests with Ajv, compiled when
 * the server is made (a few MB of a process meant to idle small). lessons never elicits, so it
 * gives the Server a validator that refuses, and the bundle leaves Ajv out (build.mjs).
 */
const noElicitation: jsonSchemaValidator = {
  getValidator: () => () => ({
    valid: false,
    data: undefined,
    errorMessage: 'lessons does not ask clients for input (no elicitation)',
  }),
};

function stderrLog(line: string): void {
  process.stderr.write(`lessons mcp: ${line}\n`);
}

/** The tool listing: computed on first use, as every JSON Schema is fixed. */
let listing: Tool[] | undefined;
function toolListing(): Tool[] {
  listing ??= TOOLS.map((tool) => ({
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: inputJsonSchema(tool.input),
    outputSchema: outputJsonSchema(tool.output),
    annotations: tool.annotations,
  }));
  return listing;
}

/** One tool call: the arguments checked, the tool run, its output or its error as a result. */
export async function callTool(
  store: Store,
  tool: LessonsTool,
  args: unknown,
  log: (line: string) => void,
): Promise<CallToolResult> {
  try {
    const output = await tool.run(store, parseArguments(tool.name, tool.input, args));
    return {
      content: [{ type: 'text', text: output.text }],
      structuredContent: output.structured,
    };
  } catch (error) {
    return toolError(error, log);
  }
}

export interface LessonsServer {
  readonly server: Server;
  /** Resolves once no request is being handled (their answers are sent or being sent). */
  readonly drain: () => Promise<void>;
}

/** An MCP server over `store`, not yet connected to a transport. */
export function createLessonsServer(options: LessonsServerOptions): LessonsServer {
  const { store, version } = options;
  const log = options.log ?? stderrLog;
  const inFlight = new Set<Promise<unknown>>();
  const server = new Server(
    { name: 'lessons', title: 'lessons', version },
    {
      capabilities: { tools: {}, resources: {}, prompts: {}, completions: {} },
      instructions: INSTRUCTIONS,
      jsonSchemaValidator: noElicitation,
    },
  );
  server.onerror = (error) => log(`protocol error: ${error.message}`);
  const handle: typeof server.setRequestHandler = (schema, handler) =>
    server.setRequestHandler(schema, (request, extra) => {
      const running = Promise.resolve(handler(request, extra));
      const settled = running.then(
        () => undefined,
        () => undefined,
      );
      inFlight.add(settled);
      void settled.then(() => inFlight.delete(settled));
      return running;
    });

  handle(ListToolsRequestSchema, () => ({ tools: toolListing() }));
  handle(CallToolRequestSchema, async (request) => {
    const tool = TOOLS.find((t) => t.name === request.params.name);
    if (tool === undefined)
      throw new McpError(
        ErrorCode.InvalidParams,
        `Unknown tool ${JSON.stringify(request.params.name)}. The tools are: ${TOOLS.map((t) => t.name).join(', ')}.`,
      );
    return callTool(store, tool, request.params.arguments, log);
  });

  handle(ListResourcesRequestSchema, async () => {
    try {
      const lists = await Promise.all(RESOURCES.map((r) => r.list?.(store) ?? Promise.resolve([])));
      return { resources: lists.flat() };
    } catch (error) {
      throw protocolError(error, log);
    }
  });
  handle(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: RESOURCES.filter(isTemplate).map((r) => ({
      uriTemplate: r.template,
      name: r.name,
      title: r.title,
      description: r.description,
      mimeType: r.mimeType,
    })),
  }));
  handle(ReadResourceRequestSchema, async (request) => {
    const { uri } = request.params;
    try {
      const found = matchResource(uri);
      if (found === undefined)
        throw new McpError(
          RESOURCE_NOT_FOUND,
          `No resource ${JSON.stringify(uri)}. Resources: ${RESOURCES.map((r) => r.template).join(', ')}.`,
          { uri },
        );
      const contents = await found.resource.read(store, found.vars);
      return { contents: [{ uri, ...contents }] };
    } catch (error) {
      throw protocolError(error, log);
    }
  });

  handle(ListPromptsRequestSchema, () => ({
    prompts: PROMPTS.map((p) => ({
      name: p.name,
      title: p.title,
      description: p.description,
      arguments: p.arguments.map((a) => ({ ...a })),
    })),
  }));
  handle(GetPromptRequestSchema, async (request) => {
    const prompt = PROMPTS.find((p) => p.name === request.params.name);
    if (prompt === undefined)
      throw new McpError(
        ErrorCode.InvalidParams,
        `Unknown prompt ${JSON.stringify(request.params.name)}. The prompts are: ${PROMPTS.map((p) => p.name).join(', ')}.`,
      );
    try {
      return await prompt.get(store, request.params.arguments ?? {});
    } catch (error) {
      throw protocolError(error, log);
    }
  });

  handle(CompleteRequestSchema, async (request) => {
    const { ref, argument } = request.params;
    const values =
      ref.type === 'ref/prompt'
        ? await PROMPTS.find((p) => p.name === ref.name)?.complete?.(
            store,
            argument.name,
            argument.value,
          )
        : await RESOURCES.find((r) => r.template === ref.uri)?.complete?.(
            store,
            argument.name,
            argument.value,
          );
    return { completion: { values: values ?? [], hasMore: false } };
  });

  const drain = async (): Promise<void> => {
    while (inFlight.size > 0) await Promise.all(inFlight);
    // The SDK sends an answer in a callback after its handler settles: let those run.
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { server, drain };
}

export interface ServeOptions {
  /** The store directory. @default $LESSONS_DIR, else ./memory */
  readonly dir?: string | undefined;
  /** How long a write waits for a busy store before LOCK_TIMEOUT. */
  readonly lockTimeoutMs?: number | undefined;
  readonly version: string;
}

/**
 * Serve the store on stdin/stdout until stdin ends or SIGINT/SIGTERM; then let a write in
 * flight finish, close the store and return.
 */
export async function serveStdio(options: ServeOptions): Promise<void> {
  // A stray console.log anywhere would corrupt the protocol stream.
  for (const method of ['log', 'info', 'debug'] as const) console[method] = console.error;
  process.on('unhandledRejection', (reason) =>
    stderrLog(
      `unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`,
    ),
  );

  const store = await openStore({ dir: options.dir, lockTimeoutMs: options.lockTimeoutMs });
  const { server, drain } = createLessonsServer({ store, version: options.version });
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    server.onclose = resolve;
  });
  await server.connect(transport);
  stderrLog(`serving ${store.dir} on stdio`);

  // The client may close our stdin and still read the answers to what it sent before.
  process.stdin.once('end', () => void drain().then(() => transport.close()));
  const stop = (): void => void transport.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await closed;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await store.close();
    process.stdin.destroy();
  }
}
