import { holdAt } from '../helpers/hold.js';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/record/validate.js';
import { startMcp, structured, textOf } from '../helpers/mcp.js';
import {
  BIN,
  consistencyProblems,
  git,
  lessons,
  nativeChecks,
  storeState,
  tempStore,
} from '../helpers/store.js';

const TOOL_NAMES = [
  'record_failure',
  'record_heuristic',
  'search',
  'show',
  'list',
  'context',
  'stats',
  'validate',
  'violate',
  'golden',
  'update',
  'retire',
];

async function waitFor(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function errorOf(result: CallToolResult): { code: string; message: string; data?: unknown } {
  expect(result.isError).toBe(true);
  const error = structured(result).error as { code: string; message: string };
  expect(textOf(result)).toBe(`${error.code}: ${error.message}`);
  return error;
}

describe('lessons mcp over stdio, with the SDK client', () => {
  it('lists the tools with the limits of the command line in their schemas', async () => {
    const mcp = await startMcp(tempStore());
    const { tools } = await mcp.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(TOOL_NAMES);
    for (const tool of tools) {
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.outputSchema?.type).toBe('object');
      // Results may grow fields (lifecycle state) without clients refusing them.
      expect(JSON.stringify(tool.outputSchema)).not.toContain('"additionalProperties":false');
      expect(tool.description?.length).toBeGreaterThan(20);
    }
    const failure = tools.find((t) => t.name === 'record_failure')!;
    const props = failure.inputSchema.properties as Record<string, Record<string, unknown>>;
    expect(failure.inputSchema.required).toEqual(['title', 'domain']);
    expect(failure.inputSchema.additionalProperties).toBe(false);
    expect(props.title).toMatchObject({ type: 'string', minLength: 1, maxLength: LIMITS.title });
    expect(props.domain).toMatchObject({
      type: 'string',
      minLength: 1,
      maxLength: LIMITS.domain,
      pattern: '^[A-Za-z0-9_-]+$',
    });
    expect(props.tags).toMatchObject({
      type: 'array',
      maxItems: LIMITS.tags,
      items: { type: 'string', maxLength: LIMITS.tag },
    });
    for (const field of ['summary', 'whatHappened', 'rootCause', 'impact', 'prevention', 'body'])
      expect(props[field]).toMatchObject({ type: 'string', maxLength: LIMITS.text });
    const heuristic = tools.find((t) => t.name === 'record_heuristic')!;
    const hprops = heuristic.inputSchema.properties as Record<string, Record<string, unknown>>;
    expect(hprops.rule).toMatchObject({ maxLength: LIMITS.title });
    expect(hprops.source).toMatchObject({
      enum: ['failure', 'success', 'observation', 'debugging'],
    });
    expect(tools.find((t) => t.name === 'search')!.annotations).toMatchObject({
      readOnlyHint: true,
    });
    expect(failure.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false });
  });

  it('records a failure and a heuristic in file, row and commit, then finds them', async () => {
    const dir = tempStore();
    const mcp = await startMcp(dir);
    const failure = await mcp.call('record_failure', {
      title: 'Migration dropped a column',
      domain: 'Database',
      severity: 'high',
      tags: ['migrations', 'data-loss'],
      summary: 'The down migration ran in production.',
      rootCause: 'No guard on the environment.',
      prevention: 'Refuse down migrations outside development.',
    });
    expect(failure.isError).toBeFalsy();
    const f = structured(failure);
    expect(f).toEqual({
      ok: true,
      id: expect.stringMatching(/^[0-9A-Z]{26}$/),
      rowid: 1,
      kind: 'failure',
      path: expect.stringMatching(
        /^failures\/\d{4}\/\d{2}\/[0-9A-Z]{26}-migration-dropped-a-column\.md$/,
      ),
      commit: expect.stringMatching(/^[0-9a-f]{40}$/),
    });
    expect(textOf(failure)).toContain(`Recorded failure ${String(f.id)}`);

    const heuristic = await mcp.call('record_heuristic', {
      rule: 'Guard down migrations by environment',
      domain: 'database',
      explanation: 'A down migration in production drops data.',
      source: 'failure',
      confidence: 0.9,
      sourceId: f.id,
      tags: ['migrations'],
    });
    const h = structured(heuristic);
    expect(h).toMatchObject({ ok: true, kind: 'heuristic', rowid: 2 });

    // All three stores hold both, and agree.
    const state = storeState(dir);
    expect(state.head).toBe(h.commit);
    expect(Object.keys(state.files).sort()).toEqual([f.path, h.path].sort());
    expect(Object.keys(state.tree).sort()).toEqual([f.path, h.path].sort());
    expect(state.rows.map((r) => [r.rowid, r.id, r.kind, r.title])).toEqual([
      [1, f.id, 'failure', 'Migration dropped a column'],
      [2, h.id, 'heuristic', 'Guard down migrations by environment'],
    ]);
    expect(state.rows[0]!.commit_oid).toBe(f.commit);
    expect(consistencyProblems(dir)).toEqual([]);
    expect(nativeChecks(dir)).toEqual([]);
    const file = fs.readFileSync(path.join(dir, f.path as string), 'utf8');
    expect(file).toMatch(/^---\nid: [0-9A-Z]{26}\nkind: failure\n/);
    expect(file).toContain('domain: database');
    expect(file).toContain('severity: 4');
    expect(file).toContain('## Prevention\n\nRefuse down migrations outside development.');
    expect(git(dir, 'log', '-1', '--format=%s%n%b', f.commit as string)).toMatch(
      new RegExp(`^failure: Migration dropped a column\\n[\\s\\S]*Lessons-Id: ${String(f.id)}`),
    );
    expect(git(dir, 'rev-parse', `${String(h.commit)}^`).trim()).toBe(f.commit);

    // The reading tools see them.
    const search = await mcp.call('search', { text: 'migration production' });
    expect(structured(search)).toMatchObject({ ok: true, count: 2 });
    expect(textOf(search)).toContain('Migration dropped a column');
    // Lists and hits leave bodies out (a model's context is precious); show has it.
    for (const hit of structured(search).hits as { record: object; snippet: string }[]) {
      expect(hit.record).not.toHaveProperty('body');
      expect(hit.snippet).not.toBe('');
    }
    const onlyRules = structured(
      await mcp.call('search', { text: 'migration', kind: 'heuristic' }),
    );
    expect((onlyRules.hits as { record: { id: string } }[]).map((x) => x.record.id)).toEqual([
      h.id,
    ]);
    const shown = await mcp.call('show', { ref: String(f.id).slice(0, 12) });
    expect(structured(shown)).toMatchObject({
      ok: true,
      record: { id: f.id, severity: 4, tags: ['migrations', 'data-loss'], commit: f.commit },
    });
    expect(textOf(shown)).toContain('## Root Cause');
    const list = structured(await mcp.call('list', { domain: 'database', sort: 'confidence' }));
    expect(list).toMatchObject({ ok: true, count: 2 });
    const context = await mcp.call('context', { domain: 'database' });
    expect(structured(context)).toMatchObject({
      ok: true,
      included: { heuristics: 1, failures: 1 },
    });
    expect(textOf(context)).toContain('**Guard down migrations by environment**');
    expect(structured(await mcp.call('stats'))).toMatchObject({
      ok: true,
      records: 2,
      byKind: { failure: 1, heuristic: 1 },
      lastCommit: { id: h.commit },
    });

    // The context digest as a resource, listed per domain, and completed.
    const { resources } = await mcp.client.listResources();
    expect(resources.map((r) => r.uri)).toEqual([
      'lessons://context',
      'lessons://context/database',
    ]);
    const { resourceTemplates } = await mcp.client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual([
      'lessons://context/{domain}',
      'lessons://record/{id}',
    ]);
    const read = await mcp.client.readResource({ uri: 'lessons://context/database' });
    expect(read.contents).toEqual([
      {
        uri: 'lessons://context/database',
        mimeType: 'text/markdown',
        text: structured(context).markdown,
      },
    ]);
    const record = await mcp.client.readResource({ uri: `lessons://record/${String(h.id)}` });
    expect(record.contents[0]).toMatchObject({ text: expect.stringContaining('## Explanation') });
    const completion = await mcp.client.complete({
      ref: { type: 'ref/resource', uri: 'lessons://context/{domain}' },
      argument: { name: 'domain', value: 'da' },
    });
    expect(completion.completion.values).toEqual(['database']);

    // The prompt asks for records and carries what is known already.
    const prompt = await mcp.client.getPrompt({
      name: 'record_lessons',
      arguments: { domain: 'database', task: 'add a column' },
    });
    expect(prompt.messages[0]!.content).toMatchObject({
      type: 'text',
      text: expect.stringContaining('record_failure'),
    });
    expect(prompt.messages[1]!.content).toMatchObject({
      type: 'resource',
      resource: { uri: 'lessons://context/database', text: structured(context).markdown },
    });
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('answers reads on a store nobody has written to yet, and creates nothing', async () => {
    const dir = tempStore();
    const mcp = await startMcp(dir);
    expect(structured(await mcp.call('list'))).toEqual({ ok: true, count: 0, records: [] });
    expect(structured(await mcp.call('search', { text: 'anything' }))).toMatchObject({ count: 0 });
    expect(textOf(await mcp.call('context', { domain: 'ci' }))).toContain(
      'Nothing recorded here yet',
    );
    const tooSmall = await mcp.call('context', { domain: 'ci', maxTokens: 3 });
    expect(tooSmall.isError).toBe(true);
    expect(structured(tooSmall)).toMatchObject({ error: { code: 'INVALID_INPUT' } });
    const read = await mcp.client.readResource({ uri: 'lessons://context/ci' });
    expect(read.contents[0]).toMatchObject({ text: expect.stringContaining('Nothing recorded') });
    expect((await mcp.client.listResources()).resources.map((r) => r.uri)).toEqual([
      'lessons://context',
    ]);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('turns invalid arguments into INVALID_INPUT tool errors and touches nothing', async () => {
    const dir = tempStore();
    const mcp = await startMcp(dir);
    // On a fresh store: not even the directory appears.
    const tooLong = await mcp.call('record_failure', {
      title: 'x'.repeat(LIMITS.title + 1),
      domain: 'ci',
    });
    expect(errorOf(tooLong)).toMatchObject({
      code: 'INVALID_INPUT',
      data: { field: 'title', length: LIMITS.title + 1, limit: LIMITS.title },
    });
    expect(fs.existsSync(dir)).toBe(false);

    expect(structured(await mcp.call('record_failure', { title: 'seed', domain: 'ci' })).ok).toBe(
      true,
    );
    const before = storeState(dir);
    const cases: [string, Record<string, unknown>, string][] = [
      ['record_failure', { title: 'x'.repeat(LIMITS.title + 1), domain: 'ci' }, 'title'],
      ['record_failure', { title: 'bad domain', domain: 'Not a domain!' }, 'domain'],
      ['record_failure', { title: 'long domain', domain: 'd'.repeat(LIMITS.domain + 1) }, 'domain'],
      ['record_failure', { title: 'two\nlines', domain: 'ci' }, 'title'],
      ['record_failure', { title: 'no domain' }, 'domain'],
      ['record_failure', { title: 42, domain: 'ci' }, 'title'],
      ['record_failure', { title: 't', domain: 'ci', severity: 9 }, 'severity'],
      ['record_failure', { title: 't', domain: 'ci', root_cause: 'typo' }, 'root_cause'],
      [
        'record_failure',
        {
          title: 't',
          domain: 'ci',
          tags: Array.from({ length: LIMITS.tags + 1 }, (_, i) => `t${i}`),
        },
        'tags',
      ],
      ['record_failure', { title: 't', domain: 'ci', tags: ['x'.repeat(LIMITS.tag + 1)] }, 'tags'],
      [
        'record_failure',
        { title: 't', domain: 'ci', summary: 's'.repeat(LIMITS.text + 1) },
        'summary',
      ],
      ['record_heuristic', { rule: 'r', domain: 'ci', confidence: 1.5 }, 'confidence'],
      ['record_heuristic', { rule: 'r', domain: 'ci', source: 'hunch' }, 'source'],
      ['record_heuristic', { rule: 'r', domain: 'ci', sourceId: 'not-an-id' }, 'sourceId'],
      ['search', { text: '   ' }, 'text'],
      ['search', { text: 'x', limit: 0 }, 'limit'],
      ['list', { kind: 'rule' }, 'kind'],
      ['list', { since: 'yesterday' }, 'since'],
      ['context', { maxTokens: 3 }, 'max-tokens'],
    ];
    for (const [tool, args, field] of cases) {
      const error = errorOf(await mcp.call(tool, args));
      expect({ tool, args, code: error.code }).toMatchObject({ code: 'INVALID_INPUT' });
      expect({ tool, field: (error.data as { field: string }).field }).toEqual({ tool, field });
    }
    expect(storeState(dir)).toEqual(before);
    expect(consistencyProblems(dir)).toEqual([]);
    // The server is still there, and a title of exactly the limit is fine.
    const atLimit = await mcp.call('record_failure', {
      title: 'y'.repeat(LIMITS.title),
      domain: 'ci',
    });
    expect(structured(atLimit)).toMatchObject({ ok: true, rowid: 2 });
    const missing = errorOf(await mcp.call('show', { ref: '01ZZZZZZZZZZZZZZZZZZZZZZZZ' }));
    expect(missing.code).toBe('NOT_FOUND');
    await expect(
      mcp.client.readResource({ uri: 'lessons://context/Not%20a%20domain' }),
    ).rejects.toThrow(/INVALID_INPUT/);
    await expect(mcp.client.readResource({ uri: 'lessons://nothing' })).rejects.toThrow(
      /No resource/,
    );
    await expect(mcp.call('no_such_tool')).rejects.toThrow(/Unknown tool/);
  });

  it('reports a rolled-back transaction as a tool error with its code, storing nothing', async () => {
    const dir = tempStore();
    expect(
      (await lessons(['--dir', dir, 'record-failure', '--title', 'seed', '--domain', 'x'])).code,
    ).toBe(0);
    const before = storeState(dir);
    const mcp = await startMcp(dir, { env: { LESSONS_TEST_FAIL_AT: 'ref' } });
    const error = errorOf(await mcp.call('record_failure', { title: 'doomed', domain: 'x' }));
    expect(error.code).toBe('INJECTED_FAULT');
    expect(storeState(dir)).toEqual(before);
    expect(consistencyProblems(dir)).toEqual([]);
    expect(structured(await mcp.call('list')).count).toBe(1);
  });

  it('answers LOCK_TIMEOUT when the store stays busy past --lock-timeout', async () => {
    const dir = tempStore();
    expect(
      (await lessons(['--dir', dir, 'record-failure', '--title', 'seed', '--domain', 'x'])).code,
    ).toBe(0);
    const mcp = await startMcp(dir, { args: ['--lock-timeout', '0.3'] });
    const hold = holdAt('locked');
    const holder = spawn(
      process.execPath,
      [BIN.lessons, '--dir', dir, 'record-failure', '--title', 'slow holder', '--domain', 'x'],
      { env: { ...process.env, ...hold.env }, stdio: 'ignore' },
    );
    const holderDone = new Promise<number | null>((resolve) => holder.on('close', resolve));
    await hold.reached();
    const before = storeState(dir);
    const error = errorOf(await mcp.call('record_failure', { title: 'impatient', domain: 'x' }));
    expect(error.code).toBe('LOCK_TIMEOUT');
    expect(error.message).toContain(`pid ${holder.pid}`);
    expect(storeState(dir).rows).toEqual(before.rows);
    hold.release();
    expect(await holderDone).toBe(0);
    // Once the store is free again, the same server records.
    expect(
      structured(await mcp.call('record_failure', { title: 'patient', domain: 'x' })),
    ).toMatchObject({ ok: true, rowid: 3 });
    expect(storeState(dir).rows.map((r) => r.title)).toEqual(['seed', 'slow holder', 'patient']);
    expect(consistencyProblems(dir)).toEqual([]);
  });
});

/** A raw server: lines in on stdin, stdout and stderr collected. */
function rawServer(dir: string) {
  const child = spawn(process.execPath, [BIN.lessons, '--dir', dir, 'mcp'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  const send = (message: unknown): void => {
    child.stdin.write(`${typeof message === 'string' ? message : JSON.stringify(message)}\n`);
  };
  const lines = (): Record<string, unknown>[] =>
    stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { child, send, lines, exited, stdout: () => stdout, stderr: () => stderr };
}

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'raw', version: '1' },
  },
};

describe('lessons mcp as a process', () => {
  it('survives garbage on stdin, writes only protocol to stdout, and answers what was sent before stdin closed', async () => {
    const dir = tempStore();
    const server = rawServer(dir);
    server.send(INITIALIZE);
    server.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    server.send('this is not json');
    server.send({ jsonrpc: '2.0', id: 'x', method: 'no/such/method' });
    server.send({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'record_failure', arguments: { title: 'before the end', domain: 'x' } },
    });
    server.send({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'record_failure', arguments: 'not an object' },
    });
    server.child.stdin.end();
    expect(await server.exited).toEqual({ code: 0, signal: null });

    // Every line on stdout is a JSON-RPC message; every request got its answer.
    const lines = server.lines();
    expect(lines.every((l) => l.jsonrpc === '2.0')).toBe(true);
    const byId = new Map(lines.map((l) => [l.id, l]));
    expect(byId.get(0)).toMatchObject({ result: { serverInfo: { name: 'lessons' } } });
    expect(byId.get('x')).toMatchObject({ error: { code: -32601 } });
    expect(byId.get(1)).toMatchObject({ result: { structuredContent: { ok: true, rowid: 1 } } });
    // Arguments that are not an object fail the SDK's own parse of the request: a JSON-RPC error.
    expect(byId.get(2)).toMatchObject({ error: { message: expect.stringMatching(/arguments/) } });
    expect(server.stderr()).toContain('lessons mcp: serving');
    expect(server.stderr()).toMatch(/protocol error: .*JSON/);
    expect(storeState(dir).rows.map((r) => r.title)).toEqual(['before the end']);
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('refuses a bad flag with exit 2 and prints help through yargs, stdout kept clean', async () => {
    const dir = tempStore();
    const bad = await lessons(['--dir', dir, '--lock-timeout', 'soon', 'mcp']);
    expect(bad).toMatchObject({ code: 2, stdout: '' });
    expect(bad.stderr).toContain('--lock-timeout: "soon" is not a duration');
    const help = await lessons(['mcp', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Model Context Protocol');
    expect(help.stdout).toContain('docs/agents.md');
    const unknown = await lessons(['--dir', dir, 'mcp', '--port', '80']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option --port/);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('stops on SIGTERM with exit 0', async () => {
    const dir = tempStore();
    const server = rawServer(dir);
    server.send(INITIALIZE);
    await waitFor(() => server.lines().length === 1);
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
  });
});
