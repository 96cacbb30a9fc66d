// The lifecycle tools over MCP: the same transactions as the command line, stable error codes
// as tool errors, limits in the schemas.

import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/record/validate.js';
import { startMcp, structured, textOf } from '../helpers/mcp.js';
import { consistencyProblems, git, tempStore } from '../helpers/store.js';

function errorCode(result: CallToolResult): string {
  expect(result.isError).toBe(true);
  const error = structured(result).error as { code: string; message: string };
  expect(textOf(result)).toBe(`${error.code}: ${error.message}`);
  return error.code;
}

describe('lifecycle tools over MCP', () => {
  it('validates, promotes, corrects and retires through the same transactions', async () => {
    const dir = tempStore();
    const mcp = await startMcp(dir);
    const { tools } = await mcp.client.listTools();
    const update = tools.find((t) => t.name === 'update')!;
    expect(update.inputSchema.properties?.rule).toMatchObject({ maxLength: LIMITS.title });
    expect(update.inputSchema.required).toEqual(['ref']);

    const h = structured(
      await mcp.call('record_heuristic', { rule: 'Pin versions', domain: 'deps' }),
    );
    const id = h.id as string;
    const validated = structured(await mcp.call('validate', { ref: id, note: 'held' }));
    expect(validated).toMatchObject({ ok: true, verb: 'validate', target: id });
    expect(validated.record).toMatchObject({ validations: 1, golden: false });
    expect(git(dir, 'log', '-1', '--format=%s')).toBe('validate: Pin versions\n');
    const golden0 = structured(await mcp.call('golden', {}));
    expect(golden0).toMatchObject({ count: 0 });
    const corrected = structured(await mcp.call('update', { ref: id, rule: 'Pin exact versions' }));
    expect(corrected.record).toMatchObject({ title: 'Pin exact versions' });
    const retired = structured(await mcp.call('retire', { ref: id, reason: 'lockfiles do it' }));
    expect(retired.record).toMatchObject({ retired: true });
    expect(structured(await mcp.call('list', {}))).toMatchObject({ count: 0 });
    expect(consistencyProblems(dir)).toEqual([]);
  }, 120_000);

  it('turns SECRET_DETECTED from update into a tool error with its code, storing nothing', async () => {
    const dir = tempStore();
    const mcp = await startMcp(dir);
    const f = structured(await mcp.call('record_failure', { title: 'Leak', domain: 'ops' }));
    const head = git(dir, 'rev-parse', 'HEAD');
    const secret = ['ghp_', 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'].join('');
    const result = await mcp.call('update', { ref: f.id as string, summary: `token ${secret}` });
    expect(errorCode(result)).toBe('SECRET_DETECTED');
    expect(JSON.stringify(result)).not.toContain(secret);
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(head);
    // validate of a failure: INVALID_INPUT.
    expect(errorCode(await mcp.call('validate', { ref: f.id as string }))).toBe('INVALID_INPUT');
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(head);
  }, 120_000);
});
