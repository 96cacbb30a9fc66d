// How failures reach an MCP client. A tool call that fails is a tool result with isError, the
// stable code and the message (and, as structured content, the object `--json` prints); a
// resource or prompt that fails is a JSON-RPC error carrying the same object as its data.
// Anything that is not a LessonsError is a bug: INTERNAL, with its stack on stderr.

import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { InternalError, LessonsError } from '../errors/index.js';

/** JSON-RPC code for a resource that does not exist (MCP specification, "Resources"). */
export const RESOURCE_NOT_FOUND = -32002;

/** The error as a LessonsError; a foreign one is logged (with its stack) and wrapped. */
export function known(error: unknown, log: (line: string) => void): LessonsError {
  if (error instanceof LessonsError) return error;
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  return new InternalError(error instanceof Error ? error.message : String(error), {
    cause: error,
  });
}

export function toolError(error: unknown, log: (line: string) => void): CallToolResult {
  const e = known(error, log);
  return {
    isError: true,
    content: [{ type: 'text', text: `${e.code}: ${e.message}` }],
    structuredContent: { ok: false, error: e.toJSON() },
  };
}

/** For resources and prompts, which have no error result: a JSON-RPC error. */
export function protocolError(error: unknown, log: (line: string) => void): McpError {
  if (error instanceof McpError) return error;
  const e = known(error, log);
  const code =
    e.code === 'NOT_FOUND'
      ? RESOURCE_NOT_FOUND
      : e.exitCode === 2
        ? ErrorCode.InvalidParams
        : ErrorCode.InternalError;
  return new McpError(code, `${e.code}: ${e.message}`, e.toJSON());
}
