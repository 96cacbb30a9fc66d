import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { InvalidInputError, LockTimeoutError, StoreError } from '../../src/errors/index.js';
import { protocolError, RESOURCE_NOT_FOUND, toolError } from '../../src/mcp/errors.js';
import { callTool } from '../../src/mcp/server.js';
import type { LessonsTool } from '../../src/mcp/tools.js';
import { openStore } from '../../src/store/store.js';
import { tempStore } from '../helpers/store.js';

describe('errors as MCP sees them', () => {
  it('carries a LessonsError as isError with its code, message and data', () => {
    const logged: string[] = [];
    const result = toolError(
      new LockTimeoutError('The store is busy.', { data: { timeoutMs: 5 } }),
      (l) => logged.push(l),
    );
    expect(result).toEqual({
      isError: true,
      content: [{ type: 'text', text: 'LOCK_TIMEOUT: The store is busy.' }],
      structuredContent: {
        ok: false,
        error: { code: 'LOCK_TIMEOUT', message: 'The store is busy.', data: { timeoutMs: 5 } },
      },
    });
    expect(logged).toEqual([]);
  });

  it('reports anything else as INTERNAL and logs its stack', async () => {
    const logged: string[] = [];
    const broken: LessonsTool = {
      name: 'broken',
      title: 'broken',
      description: 'throws a TypeError',
      input: z.strictObject({}),
      output: z.object({}),
      annotations: {},
      run: () => Promise.reject(new TypeError('cannot read x of undefined')),
    };
    const store = await openStore({ dir: tempStore() });
    const result = await callTool(store, broken, {}, (l) => logged.push(l));
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({
      ok: false,
      error: { code: 'INTERNAL', message: expect.stringContaining('this is a bug') },
    });
    expect(logged[0]).toMatch(/^TypeError: cannot read x of undefined\n\s+at /);
  });

  it('maps errors of resources and prompts to JSON-RPC codes', () => {
    const log = (): void => undefined;
    expect(protocolError(new InvalidInputError('domain', 'is bad', 'Fix it.'), log).code).toBe(
      ErrorCode.InvalidParams,
    );
    expect(protocolError(new StoreError('NOT_FOUND', 'no such record'), log)).toMatchObject({
      code: RESOURCE_NOT_FOUND,
      data: { code: 'NOT_FOUND' },
    });
    expect(protocolError(new Error('boom'), log).code).toBe(ErrorCode.InternalError);
  });
});
