import { holdAt } from '../helpers/hold.js';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  BIN,
  consistencyProblems,
  lessons,
  runCli,
  storeState,
  tempDir,
  tempStore,
} from '../helpers/store.js';

describe('record-failure and record-heuristic end to end', () => {
  it('prints the JSON shape of the contract and stores the record in all three stores', async () => {
    const dir = tempStore();
    const result = await lessons([
      '--dir',
      dir,
      '--json',
      'record-failure',
      '--title',
      'CLI: "quoted" title',
      '--domain',
      'cli',
      '--severity',
      'critical',
      '--tags',
      'a,b',
      '--summary',
      'sum',
      '--prevention',
      'prev',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(Object.keys(result.json!)).toEqual(['ok', 'id', 'rowid', 'kind', 'path', 'commit']);
    expect(result.json).toEqual({
      ok: true,
      id: expect.stringMatching(/^[0-9A-Z]{26}$/),
      rowid: 1,
      kind: 'failure',
      path: expect.stringMatching(/^failures\/.*-cli-quoted-title\.md$/),
      commit: expect.stringMatching(/^[0-9a-f]{40}$/),
    });
    const state = storeState(dir);
    expect(state.head).toBe(result.json!.commit);
    expect(state.rows.map((r) => r.title)).toEqual(['CLI: "quoted" title']);
    expect(Object.keys(state.tree)).toEqual([result.json!.path]);
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('prints a short human report, and nothing with --quiet', async () => {
    const dir = tempStore();
    const human = await lessons([
      '--dir',
      dir,
      'record-heuristic',
      '--rule',
      'Pin versions',
      '--domain',
      'deps',
      '--confidence',
      'high',
    ]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(
      /^Recorded heuristic [0-9A-Z]{26} \(rowid 1\)\n {2}file: {3}heuristics\/deps\/.*\n {2}commit: [0-9a-f]{40}\n$/,
    );
    const quiet = await lessons([
      '--dir',
      dir,
      '--quiet',
      'record-heuristic',
      '--rule',
      'Pin more',
      '--domain',
      'deps',
    ]);
    expect(quiet).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(storeState(dir).rows).toHaveLength(2);
  });

  it('works through the standalone bins with the same options', async () => {
    const dir = tempStore();
    const f = await runCli(BIN.recordFailure, [
      '--dir',
      dir,
      '--json',
      '--title',
      'standalone',
      '--domain',
      'x',
    ]);
    const h = await runCli(BIN.recordHeuristic, [
      '--dir',
      dir,
      '--json',
      '--rule',
      'standalone rule',
      '--domain',
      'x',
      '--source-id',
      String(f.json?.id),
      '--source',
      'failure',
    ]);
    expect([f.code, h.code]).toEqual([0, 0]);
    expect(h.json).toMatchObject({ ok: true, kind: 'heuristic', rowid: 2 });
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('takes every field from FAILURE_* and HEURISTIC_* environment variables', async () => {
    const dir = tempStore();
    const f = await runCli(BIN.recordFailure, ['--dir', dir, '--json'], {
      env: {
        FAILURE_TITLE: 'From env',
        FAILURE_DOMAIN: 'env',
        FAILURE_SEVERITY: 'low',
        FAILURE_TAGS: 'e1,e2',
        FAILURE_ROOT_CAUSE: 'the cause',
      },
    });
    expect(f.code).toBe(0);
    const file = fs.readFileSync(path.join(dir, String(f.json!.path)), 'utf8');
    expect(file).toContain('title: From env\n');
    expect(file).toContain('severity: 2\n');
    expect(file).toContain('## Root Cause\n\nthe cause\n');
    const h = await runCli(BIN.recordHeuristic, ['--dir', dir, '--json', '--domain', 'flag-wins'], {
      env: { HEURISTIC_RULE: 'Env rule', HEURISTIC_DOMAIN: 'env', HEURISTIC_CONFIDENCE: '0.4' },
    });
    expect(h.code).toBe(0);
    expect(h.json!.path).toMatch(/^heuristics\/flag-wins\//);
  });

  it('reads the body from a file or from stdin', async () => {
    const dir = tempStore();
    const bodyFile = path.join(tempDir(), 'body.md');
    fs.writeFileSync(bodyFile, '### Details\n\nFrom a file ✓\n');
    const fromFile = await lessons([
      '--dir',
      dir,
      '--json',
      'record-failure',
      '--title',
      'file body',
      '--domain',
      'x',
      '--body-file',
      bodyFile,
    ]);
    const fromStdin = await lessons(
      [
        '--dir',
        dir,
        '--json',
        'record-failure',
        '--title',
        'stdin body',
        '--domain',
        'x',
        '--body-file',
        '-',
      ],
      { input: 'Piped in\n' },
    );
    expect([fromFile.code, fromStdin.code]).toEqual([0, 0]);
    expect(fs.readFileSync(path.join(dir, String(fromFile.json!.path)), 'utf8')).toMatch(
      /# file body\n\n### Details\n\nFrom a file ✓\n$/,
    );
    expect(fs.readFileSync(path.join(dir, String(fromStdin.json!.path)), 'utf8')).toMatch(
      /# stdin body\n\nPiped in\n$/,
    );
  });

  it('uses ./memory when neither --dir nor LESSONS_DIR is given, and LESSONS_DIR when set', async () => {
    const cwd = tempDir();
    const a = await lessons(['--json', 'record-failure', '--title', 'default', '--domain', 'x'], {
      cwd,
    });
    expect(a.code).toBe(0);
    expect(storeState(path.join(cwd, 'memory')).rows).toHaveLength(1);
    const b = await lessons(['--json', 'record-failure', '--title', 'env dir', '--domain', 'x'], {
      cwd,
      env: { LESSONS_DIR: path.join(cwd, 'elsewhere') },
    });
    expect(b.code).toBe(0);
    expect(storeState(path.join(cwd, 'elsewhere')).rows).toHaveLength(1);
  });
});

describe('bad input: exit 2, a message naming the field, nothing touched', () => {
  const long = (n: number): string => 'x'.repeat(n);
  const cases: [string, string[], string][] = [
    ['an empty title', ['record-failure', '--title', '', '--domain', 'x'], 'title'],
    ['a missing title', ['record-failure', '--domain', 'x'], 'title'],
    ['a 501-character title', ['record-failure', '--title', long(501), '--domain', 'x'], 'title'],
    ['a newline in a title', ['record-failure', '--title', 'two\nlines', '--domain', 'x'], 'title'],
    [
      'a control character in a title',
      ['record-failure', '--title', 'bell\u0007', '--domain', 'x'],
      'title',
    ],
    ['../ in a domain', ['record-failure', '--title', 't', '--domain', '../etc'], 'domain'],
    ['a missing domain', ['record-failure', '--title', 't'], 'domain'],
    ['a space in a domain', ['record-failure', '--title', 't', '--domain', 'two words'], 'domain'],
    ['a reserved domain', ['record-failure', '--title', 't', '--domain', 'CON'], 'domain'],
    [
      'an unknown severity',
      ['record-failure', '--title', 't', '--domain', 'x', '--severity', 'apocalyptic'],
      'severity',
    ],
    [
      'severity 0',
      ['record-failure', '--title', 't', '--domain', 'x', '--severity', '0'],
      'severity',
    ],
    [
      'a 50,001-character summary',
      ['record-failure', '--title', 't', '--domain', 'x', '--summary', long(50_001)],
      'summary',
    ],
    [
      '21 tags',
      [
        'record-failure',
        '--title',
        't',
        '--domain',
        'x',
        '--tags',
        Array.from({ length: 21 }, (_, i) => `t${i}`).join(','),
      ],
      'tags',
    ],
    [
      'a 51-character tag',
      ['record-failure', '--title', 't', '--domain', 'x', '--tags', long(51)],
      'tags',
    ],
    [
      'confidence out of range',
      ['record-heuristic', '--rule', 'r', '--domain', 'x', '--confidence', '1.5'],
      'confidence',
    ],
    [
      'an unknown confidence word',
      ['record-heuristic', '--rule', 'r', '--domain', 'x', '--confidence', 'certain'],
      'confidence',
    ],
    [
      'an unknown source',
      ['record-heuristic', '--rule', 'r', '--domain', 'x', '--source', 'hearsay'],
      'source',
    ],
    [
      'a malformed source id',
      ['record-heuristic', '--rule', 'r', '--domain', 'x', '--source-id', 'not-an-id'],
      'sourceId',
    ],
    ['an empty rule', ['record-heuristic', '--rule', '', '--domain', 'x'], 'rule'],
    [
      'a missing body file',
      ['record-failure', '--title', 't', '--domain', 'x', '--body-file', '/nonexistent/body.md'],
      '--body-file',
    ],
    [
      'a body file that is a directory',
      ['record-failure', '--title', 't', '--domain', 'x', '--body-file', '/tmp'],
      '--body-file',
    ],
    [
      'a malformed --lock-timeout',
      ['--lock-timeout', 'soon', 'record-failure', '--title', 't', '--domain', 'x'],
      '--lock-timeout',
    ],
  ];

  it.each(cases)('rejects %s', async (_name, args, field) => {
    const dir = tempStore();
    const result = await lessons(['--dir', dir, '--json', ...args]);
    expect(result.code).toBe(2);
    expect(result.json).toMatchObject({
      ok: false,
      error: { code: 'INVALID_INPUT', data: { field } },
    });
    expect(result.stderr).toContain(`${field}: `);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('rejects invalid UTF-8 and NUL bytes in a body file', async () => {
    const dir = tempStore();
    const scratch = tempDir();
    const invalid = path.join(scratch, 'latin1.md');
    fs.writeFileSync(invalid, Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    const nul = path.join(scratch, 'nul.md');
    fs.writeFileSync(nul, 'a\u0000b');
    const a = await lessons([
      '--dir',
      dir,
      '--json',
      'record-failure',
      '--title',
      't',
      '--domain',
      'x',
      '--body-file',
      invalid,
    ]);
    const b = await lessons([
      '--dir',
      dir,
      '--json',
      'record-failure',
      '--title',
      't',
      '--domain',
      'x',
      '--body-file',
      nul,
    ]);
    expect(a).toMatchObject({
      code: 2,
      json: { error: { code: 'INVALID_INPUT', data: { field: '--body-file' } } },
    });
    expect(a.stderr).toContain('not valid UTF-8');
    expect(b).toMatchObject({
      code: 2,
      json: { error: { code: 'INVALID_INPUT', data: { field: 'body' } } },
    });
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('rejects an unknown option as a usage error', async () => {
    const dir = tempStore();
    const result = await lessons([
      '--dir',
      dir,
      '--json',
      'record-failure',
      '--titel',
      't',
      '--domain',
      'x',
    ]);
    expect(result).toMatchObject({ code: 2, json: { ok: false, error: { code: 'USAGE' } } });
    expect(result.stderr).toContain('titel');
  });

  const usage: [string, string[], string][] = [
    ['a flag without its value', ['record-failure', '--domain', 'x', '--title'], 'title'],
    [
      'a title given twice',
      ['record-failure', '--title', 'a', '--title', 'b', '--domain', 'x'],
      '--title',
    ],
    [
      'a positional argument',
      ['record-heuristic', '--rule', 'r', '--domain', 'x', 'extra'],
      'extra',
    ],
    ['a value that looks like a flag', ['record-failure', '--title', '--domain', 'x'], 'title'],
  ];

  it.each(usage)('rejects %s as a usage error', async (_name, args, named) => {
    const dir = tempStore();
    const result = await lessons(['--dir', dir, '--json', ...args]);
    expect(result).toMatchObject({ code: 2, json: { ok: false, error: { code: 'USAGE' } } });
    expect(result.stderr).toContain(named);
    expect(result.stderr).not.toContain('bug');
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('rejects a store path that is a file', async () => {
    const file = path.join(tempDir(), 'not-a-dir');
    fs.writeFileSync(file, 'hello');
    const result = await lessons([
      '--dir',
      file,
      '--json',
      'record-failure',
      '--title',
      't',
      '--domain',
      'x',
    ]);
    expect(result).toMatchObject({ code: 2, json: { error: { code: 'STORE_NOT_DIRECTORY' } } });
    expect(fs.readFileSync(file, 'utf8')).toBe('hello');
  });

  it('rejects an unwritable store', async (ctx) => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'lessons-ro-'));
    let immutable = false;
    onTestFinished(() => {
      if (immutable) execFileSync('chattr', ['-i', parent], { stdio: 'ignore' });
      fs.chmodSync(parent, 0o755);
      fs.rmSync(parent, { recursive: true, force: true });
    });
    fs.chmodSync(parent, 0o555);
    if (process.getuid?.() === 0) {
      // Permission bits do not stop root; the immutable attribute does.
      try {
        execFileSync('chattr', ['+i', parent], { stdio: 'ignore' });
        immutable = true;
      } catch {
        ctx.skip('running as root without chattr: cannot make a directory unwritable');
      }
    }
    const result = await lessons([
      '--dir',
      path.join(parent, 'store'),
      '--json',
      'record-failure',
      '--title',
      't',
      '--domain',
      'x',
    ]);
    expect(result).toMatchObject({ code: 2, json: { error: { code: 'STORE_NOT_WRITABLE' } } });
    expect(fs.readdirSync(parent)).toEqual([]);
  });

  it('leaves an existing store untouched by bad input', async () => {
    const dir = tempStore();
    expect(
      (await lessons(['--dir', dir, 'record-failure', '--title', 'good', '--domain', 'x'])).code,
    ).toBe(0);
    const before = storeState(dir);
    const result = await lessons([
      '--dir',
      dir,
      'record-failure',
      '--title',
      long(501),
      '--domain',
      'x',
    ]);
    expect(result.code).toBe(2);
    expect(storeState(dir)).toEqual(before);
  });
});

describe('a busy store', () => {
  it('exits 3 after --lock-timeout, naming the holder, and the holder still succeeds', async () => {
    const dir = tempStore();
    expect(
      (await lessons(['--dir', dir, 'record-failure', '--title', 'seed', '--domain', 'x'])).code,
    ).toBe(0);
    const hold = holdAt('locked');
    const holder = spawn(
      process.execPath,
      [
        BIN.lessons,
        '--dir',
        dir,
        '--json',
        'record-failure',
        '--title',
        'slow holder',
        '--domain',
        'x',
      ],
      {
        env: { ...process.env, ...hold.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const holderDone = new Promise<number | null>((resolve) => holder.on('close', resolve));
    await hold.reached();
    const before = storeState(dir);
    const busy = await lessons([
      '--dir',
      dir,
      '--json',
      '--lock-timeout',
      '0.3',
      'record-failure',
      '--title',
      'impatient',
      '--domain',
      'x',
    ]);
    expect(busy.code).toBe(3);
    expect(busy.json).toMatchObject({ ok: false, error: { code: 'LOCK_TIMEOUT' } });
    expect(busy.stderr).toContain(`pid ${holder.pid}`);
    expect(busy.stderr).toMatch(/since \d{4}-\d{2}-\d{2}T/);
    expect(busy.stderr).toContain('lessons recover');
    expect(storeState(dir).rows).toEqual(before.rows);
    hold.release();
    expect(await holderDone).toBe(0);
    expect(storeState(dir).rows.map((r) => r.title)).toEqual(['seed', 'slow holder']);
    expect(consistencyProblems(dir)).toEqual([]);
  });
});
