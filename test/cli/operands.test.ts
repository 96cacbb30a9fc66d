// `--` ends the options in every command and in both parsers: what follows is an operand, even
// when it looks like a flag.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFast, splitLessonsArgv } from '../../cli/fast.js';
import { protectOperands } from '../../cli/operands.js';
import {
  BIN,
  consistencyProblems,
  lessons,
  readRows,
  runCli,
  storeState,
  tempStore,
} from '../helpers/store.js';

async function storeWith(title: string): Promise<string> {
  const dir = tempStore();
  const made = await lessons(['--dir', dir, 'record-failure', '--title', title, '--domain', 'cli']);
  expect(made.code, made.stderr).toBe(0);
  return dir;
}

describe('the end of options, --', () => {
  it('hands yargs the operands after -- as placeholders and puts them back', () => {
    const operands = protectOperands(['search', '--json', '--', '-x', '--kind', 'y'], true);
    expect(operands.argv.slice(0, 2)).toEqual(['search', '--json']);
    expect(operands.argv).toHaveLength(5);
    expect(operands.argv.slice(2).every((a) => !a.startsWith('-'))).toBe(true);
    const args = { _: ['search'], text: operands.argv.slice(2), json: true };
    expect(operands.restore(args)).toEqual({
      _: ['search'],
      text: ['-x', '--kind', 'y'],
      json: true,
    });
    expect(operands.unmask(`Unknown argument: ${operands.argv[2]}`)).toBe('Unknown argument: "-x"');
    // The command itself may be the first operand of `lessons`; global flag values are skipped.
    expect(protectOperands(['--dir', 'd', '--', 'list'], true).argv).toEqual([
      '--dir',
      'd',
      'list',
    ]);
    expect(protectOperands(['--', '-x'], false).argv[0]).not.toBe('-x');
  });

  it('finds a record matching "-x" with `lessons search --json -- -x`', async () => {
    const dir = await storeWith('the -x flag broke the build');
    const result = await lessons(['--dir', dir, 'search', '--json', '--', '-x']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json).toMatchObject({ ok: true, query: '-x', count: 1 });
  });

  it('searches for SQL as plain text after --, and the records table is untouched', async () => {
    const dir = await storeWith('a lesson about quoting');
    const before = storeState(dir);
    const result = await lessons([
      '--dir',
      dir,
      '--json',
      'search',
      '--',
      "'; DROP TABLE records; --",
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json).toMatchObject({ ok: true, query: "'; DROP TABLE records; --", count: 0 });
    expect(storeState(dir)).toEqual(before);
    expect(readRows(dir)).toHaveLength(1);
  });

  it('takes a flag-like operand after -- as the ref of show, and the flags after it as text', async () => {
    const dir = await storeWith('shown');
    const missing = await lessons(['--dir', dir, '--json', 'show', '--', '-weird-path.md']);
    expect(missing.code).toBe(1);
    expect(missing.json).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(missing.json!.error).toMatchObject({
      message: expect.stringContaining('-weird-path.md'),
    });
    const id = readRows(dir)[0]!.id;
    const shown = await lessons(['--dir', dir, 'show', '--json', '--', id]);
    expect(shown.json).toMatchObject({ ok: true, record: { id } });
    const list = await lessons(['--dir', dir, '--json', '--', 'list']);
    expect(list.json).toMatchObject({ ok: true, count: 1 });
  });

  it('records through the fast path with a trailing --, as yargs does with a repeated flag', async () => {
    expect(parseFast('record-failure', ['--title', 't', '--domain', 'd', '--'])).toEqual({
      title: 't',
      domain: 'd',
    });
    expect(splitLessonsArgv(['--json', '--', 'record-failure'])).toBeUndefined();
    const dir = tempStore();
    const fast = await lessons([
      '--dir',
      dir,
      '--json',
      'record-failure',
      '--title',
      'fast',
      '--domain',
      'x',
      '--',
    ]);
    // Repeated --tags go to yargs, which must take -- the same way.
    const full = await runCli(BIN.recordHeuristic, [
      '--dir',
      dir,
      '--json',
      '--rule',
      'full',
      '--domain',
      'x',
      '--tags',
      'a',
      '--tags',
      'b',
      '--',
    ]);
    expect(fast.code, fast.stderr).toBe(0);
    expect(full.code, full.stderr).toBe(0);
    expect(
      readRows(dir)
        .map((r) => r.title)
        .sort(),
    ).toEqual(['fast', 'full']);
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('refuses a flag after -- in a record command as an operand it does not take, touching nothing', async () => {
    const dir = tempStore();
    for (const args of [
      [
        '--dir',
        dir,
        '--json',
        'record-failure',
        '--title',
        't',
        '--domain',
        'd',
        '--',
        '--severity',
      ],
      ['--dir', dir, '--json', '--', 'record-failure', '--title', 't', '--domain', 'd'],
    ]) {
      const result = await lessons(args);
      expect(result.code).toBe(2);
      expect(result.json).toMatchObject({ ok: false, error: { code: 'USAGE' } });
      expect(result.stderr).not.toContain('\u0000');
    }
    expect(fs.existsSync(path.dirname(dir)) && fs.readdirSync(path.dirname(dir))).toEqual([]);
  });
});
