import BetterSqlite3 from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import yargs from 'yargs';
import { describe, expect, it } from 'vitest';
import {
  FAILURE_FLAGS,
  HEURISTIC_FLAGS,
  failureFlags,
  heuristicFlags,
} from '../../cli/commands/record.js';
import { parseFast, splitLessonsArgv, type RecordCommand } from '../../cli/fast.js';
import { GLOBAL_OPTIONS } from '../../cli/run.js';
import { BIN, consistencyProblems, runCli, storeState, tempStore } from '../helpers/store.js';

/** What yargs makes of the same flags, restricted to the flags both parsers know. */
async function viaYargs(command: RecordCommand, argv: string[]): Promise<Record<string, unknown>> {
  const flags = command === 'record-failure' ? failureFlags : heuristicFlags;
  const parsed = await flags(yargs(argv).options(GLOBAL_OPTIONS).strict().exitProcess(false))
    .fail((message) => {
      throw new Error(message);
    })
    .parseAsync();
  const known = [
    ...Object.keys(GLOBAL_OPTIONS),
    ...Object.keys(command === 'record-failure' ? FAILURE_FLAGS : HEURISTIC_FLAGS),
  ].map((flag) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()));
  return Object.fromEntries(
    Object.entries(parsed).filter(([key, value]) => known.includes(key) && value !== undefined),
  );
}

describe('the fast path of record-failure and record-heuristic', () => {
  const plain: [RecordCommand, string[]][] = [
    ['record-failure', ['--title', 'T: "q" ---', '--domain', 'x', '--severity', 'high']],
    [
      'record-failure',
      [
        '--dir',
        '/tmp/s',
        '--json',
        '--what-happened=it broke',
        '--root-cause',
        '',
        '--tags',
        'a,b',
      ],
    ],
    ['record-failure', ['--quiet', '--lock-timeout', '2s', '--body-file', '-', '--title', '1e3']],
    ['record-heuristic', ['--rule', 'r', '--source-id', '01ARZ3NDEKTSV4RRFFQ69G5FAV', '--json']],
    ['record-heuristic', ['--confidence', '0.9', '--source', 'failure', '--explanation', 'é 😀']],
    ['record-heuristic', ['--rule', 'r', '--json', '--']],
  ];

  it.each(plain)('parses %s %j exactly as yargs does', async (command, argv) => {
    const fast = parseFast(command, argv);
    expect(fast).toBeDefined();
    expect(fast).toEqual(await viaYargs(command, argv));
  });

  const leftToYargs: [string, RecordCommand, string[]][] = [
    ['help', 'record-failure', ['--help']],
    ['-h', 'record-failure', ['-h']],
    ['version', 'record-heuristic', ['--version']],
    ['an unknown flag', 'record-failure', ['--titel', 't']],
    ['a flag of the other command', 'record-failure', ['--rule', 'r']],
    ['a repeated flag', 'record-failure', ['--tags', 'a', '--tags', 'b']],
    ['a missing value', 'record-failure', ['--title']],
    ['a value like a flag', 'record-failure', ['--title', '-x']],
    ['a negated boolean', 'record-failure', ['--no-json']],
    ['a boolean with a value', 'record-failure', ['--json=false']],
    ['a positional', 'record-heuristic', ['--rule', 'r', 'extra']],
    ['an operand after the end of flags', 'record-heuristic', ['--rule', 'r', '--', '--json']],
    ['a camelCase flag', 'record-failure', ['--rootCause', 'x']],
  ];

  it.each(leftToYargs)('leaves %s to yargs', (_name, command, argv) => {
    expect(parseFast(command, argv)).toBeUndefined();
  });

  it('finds the record command of `lessons` behind global flags only', () => {
    expect(splitLessonsArgv(['--dir', 'd', '--json', 'record-failure', '--title', 't'])).toEqual({
      command: 'record-failure',
      flags: ['--dir', 'd', '--json', '--title', 't'],
    });
    expect(splitLessonsArgv(['--lock-timeout=5s', 'record-heuristic'])).toEqual({
      command: 'record-heuristic',
      flags: ['--lock-timeout=5s'],
    });
    expect(splitLessonsArgv(['list', '--json'])).toBeUndefined();
    expect(splitLessonsArgv(['--verbose', 'record-failure'])).toBeUndefined();
    expect(splitLessonsArgv(['--dir', 'record-failure'])).toBeUndefined();
  });

  it('stores a record from repeated --tags through yargs, the lists joined', async () => {
    const dir = tempStore();
    const result = await runCli(BIN.recordFailure, [
      '--dir',
      dir,
      '--json',
      '--title',
      'tags twice',
      '--domain',
      'x',
      '--tags',
      'a,b',
      '--tags',
      'c',
    ]);
    expect(result.code).toBe(0);
    const state = storeState(dir);
    expect(state.rows.map((r) => r.title)).toEqual(['tags twice']);
    const file = fs.readFileSync(path.join(dir, String(result.json!.path)), 'utf8');
    expect(file).toContain('tags: [a, b, c]');
    const db = new BetterSqlite3(path.join(dir, 'index.db'), { readonly: true });
    expect(db.prepare('SELECT tags FROM records').pluck().get()).toBe('["a","b","c"]');
    db.close();
    expect(Object.keys(state.tree)).toEqual([result.json!.path]);
    expect(consistencyProblems(dir)).toEqual([]);
  });
});
