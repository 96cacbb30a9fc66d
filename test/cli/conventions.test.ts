// The command line as people use it (issue 15): pipes that close early, --json that is always
// one object, typos named with a suggestion, progress only on a terminal, colour only where it
// helps, list/search layouts, exit codes that tell a crash from findings. Each defect of the
// issue is reproduced here as it was reported.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { InternalError } from '../../src/errors/index.js';
import { openStore } from '../../src/index.js';
import { reportError } from '../../cli/report.js';
import {
  BIN,
  consistencyProblems,
  lessons,
  readRows,
  runCli,
  storeState,
  tempDir,
  tempStore,
} from '../helpers/store.js';
import { inShell, inTerminal, lessonsCommand, progressCounts } from '../helpers/tty.js';

/** A store of 5,001 records (one transaction), shared by the read-only tests below. */
let big: string;
let bigIds: string[];

beforeAll(async () => {
  big = path.join(fs.mkdtempSync(path.join(tempRoot(), 'lessons-big-')), 'store');
  const store = await openStore({ dir: big });
  const results = await store.recordMany(
    Array.from({ length: 5001 }, (_, i) =>
      i % 5 === 0
        ? { kind: 'heuristic' as const, rule: `Rule number ${i}`, domain: 'rules', tags: ['t'] }
        : {
            kind: 'failure' as const,
            title: `Failure number ${i} in the cache`,
            domain: i % 2 === 0 ? 'infra' : 'ops',
            severity: (i % 5) + 1,
            tags: ['cache'],
          },
    ),
  );
  bigIds = results.map((r) => r.id);
  await store.close();
});

afterAll(() => {
  fs.rmSync(path.dirname(big), { recursive: true, force: true });
});

function tempRoot(): string {
  return process.env.TMPDIR ?? '/tmp';
}

async function smallStore(): Promise<{ dir: string; failure: string; heuristic: string }> {
  const dir = tempStore();
  const store = await openStore({ dir });
  // Two transactions: ids of one transaction may share all but their last characters.
  const failure = await store.recordFailure({
    title: 'Cache stampede',
    domain: 'infra',
    severity: 'high',
  });
  const heuristic = await store.recordHeuristic({ rule: 'Jitter every retry', domain: 'infra' });
  await store.close();
  return { dir, failure: failure.id, heuristic: heuristic.id };
}

describe('pipes', () => {
  for (const json of [false, true]) {
    it(`ends quietly when the reader closes the pipe early: list --limit 5000 ${json ? '--json ' : ''}| head -1`, () => {
      const run = inShell(
        `${lessonsCommand(['--dir', big, ...(json ? ['--json'] : []), 'list', '--limit', '5000'])} | head -1; echo "exit=\${PIPESTATUS[0]}" >&2`,
      );
      expect(run.stdout.split('\n').filter(Boolean)).toHaveLength(1);
      expect(run.stderr).toBe('exit=0\n');
    });
  }
});

describe('pipes closed before a record prints', () => {
  // The record path writes its lines with fs.writeSync (cli/stdio.ts), not through a stream.
  for (const json of [false, true]) {
    it(`stores the record and exits 0: record-failure ${json ? '--json ' : ''}| true`, () => {
      const dir = tempStore();
      const run = inShell(
        `${lessonsCommand(['--dir', dir, ...(json ? ['--json'] : []), 'record-failure', '--title', 'Reader gone', '--domain', 'pipes'])} | true; echo "exit=\${PIPESTATUS[0]}" >&2`,
      );
      expect(run.stderr).toBe('exit=0\n');
      const state = storeState(dir);
      expect(state.rows.map((row) => row.title)).toEqual(['Reader gone']);
      expect(state.commits).toBe(2); // the store's first commit, then the record's
      expect(Object.keys(state.files)).toHaveLength(1);
      expect(consistencyProblems(dir)).toEqual([]);
    });
  }
});

describe('--json is exactly one JSON object', () => {
  it('for `--json search -dash`: the unknown flag named, no help text', async () => {
    const run = await lessons(['--dir', big, '--json', 'search', '-dash']);
    expect(run.code).toBe(2);
    expect(run.json).toMatchObject({ ok: false, error: { code: 'USAGE' } });
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    expect(String((run.json!.error as { message: string }).message)).toContain('-dash');
  });

  it('for `search -x --json`: names the unknown flag, not a missing operand', async () => {
    const run = await lessons(['--dir', big, 'search', '-x', '--json']);
    expect(run.code).toBe(2);
    const message = String((run.json!.error as { message: string }).message);
    expect(message).toContain('unknown option -x');
    expect(message).not.toContain('non-option');
  });

  it('for --help and --version', async () => {
    const help = await lessons(['--json', '--help']);
    expect(help.code).toBe(0);
    expect(help.json).toMatchObject({ ok: true, help: expect.stringContaining('verify') });
    const version = await lessons(['--json', '-v']);
    expect(version.json).toEqual({ ok: true, version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });
});

describe('typos and small things', () => {
  it('prints the version for -v, -V and --version, and suggests --version for --verison', async () => {
    for (const flag of ['-v', '-V', '--version']) {
      const run = await lessons([flag]);
      expect(run.code, flag).toBe(0);
      expect(run.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    }
    const typo = await lessons(['--verison']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('did you mean --version?');
  });

  it('suggests a command for `lst` and a flag for `list --limt`', async () => {
    const lst = await lessons(['--dir', big, 'lst']);
    expect(lst.code).toBe(2);
    expect(lst.stderr).toContain('unknown command "lst" (did you mean `lessons list`?)');
    const limt = await lessons(['--dir', big, 'list', '--limt', '3']);
    expect(limt.code).toBe(2);
    expect(limt.stderr).toContain('unknown option --limt (did you mean --limit?)');
    const heuristic = await runCli(BIN.recordHeuristic, ['--rul', 'x', '--domain', 'd']);
    expect(heuristic.code).toBe(2);
    expect(heuristic.stderr).toContain('did you mean --rule?');
  });

  it('names <ref> when show is given none', async () => {
    const run = await lessons(['--dir', big, 'show']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('<ref>');
  });

  it('names --limit and the bad value for `list --limit abc`', async () => {
    const run = await lessons(['--dir', big, '--json', 'list', '--limit', 'abc']);
    expect(run.code).toBe(2);
    expect(run.json!.error).toMatchObject({ code: 'INVALID_INPUT', data: { field: '--limit' } });
    expect(run.stderr).toContain('"abc" is not a whole number');
    expect(run.stderr).not.toContain('NaN');
  });

  it('says "50 of 5,001" under list on a terminal, and gives the total in JSON', async () => {
    const { screen } = inTerminal(lessonsCommand(['--dir', big, 'list']));
    const lines = screen.split(/\r?\n/).filter(Boolean);
    expect(lines).toHaveLength(51);
    expect(lines[50]).toContain('50 of 5,001 records');
    const piped = await lessons(['--dir', big, 'list']);
    expect(piped.stdout.trim().split('\n')).toHaveLength(50);
    const json = await lessons(['--dir', big, '--json', 'list', '--limit', '7']);
    expect(json.json).toMatchObject({ ok: true, count: 7, total: 5001 });
  });

  it('gives cleanup --dry-run --json an ok that agrees with its exit code', async () => {
    const { dir } = await smallStore();
    const clean = await lessons(['--dir', dir, '--json', 'cleanup', '--dry-run']);
    expect([clean.code, clean.json!.ok]).toEqual([0, true]);
    fs.writeFileSync(path.join(dir, 'failures', 'notes.md'), 'a note\n');
    const before = storeState(dir);
    const dirty = await lessons(['--dir', dir, '--json', 'cleanup', '--dry-run', '--grace', '0']);
    expect([dirty.code, dirty.json!.ok]).toEqual([1, false]);
    expect(storeState(dir)).toEqual(before);
  });
});

describe('record-heuristic --source-id', () => {
  it('refuses an id that names no failure, with exit 2 and nothing touched', async () => {
    const { dir } = await smallStore();
    const before = storeState(dir);
    const run = await runCli(BIN.recordHeuristic, [
      '--dir',
      dir,
      '--json',
      '--rule',
      'Dangling',
      '--domain',
      'x',
      '--source-id',
      '01ARZ3NDEKTSV4RRFFQ69G5FAV',
    ]);
    expect(run.code).toBe(2);
    expect(run.json!.error).toMatchObject({ code: 'INVALID_INPUT', data: { field: 'sourceId' } });
    expect(storeState(dir)).toEqual(before);
  });

  it('refuses a heuristic as the source, and any source in a store with no commit', async () => {
    const { dir, heuristic } = await smallStore();
    const before = storeState(dir);
    const run = await lessons([
      '--dir',
      dir,
      'record-heuristic',
      '--rule',
      'r',
      '--domain',
      'x',
      '--source-id',
      heuristic,
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('not a failure');
    expect(storeState(dir)).toEqual(before);
    const empty = tempStore();
    const none = await lessons([
      '--dir',
      empty,
      'record-heuristic',
      '--rule',
      'r',
      '--domain',
      'x',
      '--source-id',
      '01ARZ3ND',
    ]);
    expect(none.code).toBe(2);
    expect(fs.existsSync(empty)).toBe(false);
  });

  it('accepts a unique prefix, as show does, and stores the full id', async () => {
    const { dir, failure } = await smallStore();
    const prefix = failure.slice(0, 12).toLowerCase();
    const shown = await lessons(['--dir', dir, '--json', 'show', prefix]);
    expect(shown.code).toBe(0);
    const run = await runCli(BIN.recordHeuristic, [
      '--dir',
      dir,
      '--json',
      '--rule',
      'From a prefix',
      '--domain',
      'x',
      '--source-id',
      prefix,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const file = fs.readFileSync(path.join(dir, String(run.json!.path)), 'utf8');
    expect(file).toContain(`source_id: ${failure}`);
    const show = await lessons(['--dir', dir, '--json', 'show', String(run.json!.id)]);
    expect(show.json!.record).toMatchObject({ sourceId: failure });
    expect(consistencyProblems(dir)).toEqual([]);
  });
});

describe('exit codes', () => {
  it('maps an unexpected internal error to 70, apart from findings (1)', () => {
    const quiet = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(reportError(new Error('boom'), [], 'lessons')).toBe(70);
      expect(new InternalError('x').exitCode).toBe(70);
    } finally {
      quiet.mockRestore();
    }
  });

  it('creates the folders of verify --junit DIR/report.xml', async () => {
    const { dir } = await smallStore();
    const report = path.join(tempDir(), 'reports', 'nested', 'verify.xml');
    const run = await lessons(['--dir', dir, 'verify', '--junit', report]);
    expect(run.code).toBe(0);
    expect(fs.readFileSync(report, 'utf8')).toContain('<testsuites name="lessons verify"');
  });

  it('refuses --dir /proc/x with exit 2, instead of spinning', async () => {
    // A spinning child never exits: the test's timeout is what catches that, no clock here.
    const run = await lessons([
      '--dir',
      '/proc/lessons-x',
      '--json',
      'record-failure',
      '--title',
      't',
      '--domain',
      'd',
    ]);
    expect(run.code).toBe(2);
    expect(run.json!.error).toMatchObject({ code: 'STORE_NOT_WRITABLE' });
    expect(fs.existsSync('/proc/lessons-x')).toBe(false);
  });
});

describe('list and search for people', () => {
  it('prints short ids that are unique, which show accepts', async () => {
    const { dir, failure, heuristic } = await smallStore();
    const few = await lessons(['--dir', dir, 'list']);
    const [first, second] = few.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[0]!);
    expect(first!.length).toBeLessThan(26);
    expect(heuristic.startsWith(first!) && failure.startsWith(second!)).toBe(true);
    expect((await lessons(['--dir', dir, 'show', second!])).code).toBe(0);

    // One import: ids of one transaction share their leading characters, so shorts are longer.
    const run = await lessons(['--dir', big, 'list', '--limit', '200', '--format', '{short}']);
    const shorts = run.stdout.trim().split('\n');
    expect(shorts).toHaveLength(200);
    const length = shorts[0]!.length;
    for (const s of shorts) expect(s).toHaveLength(length);
    const all = new Set(bigIds);
    for (const s of shorts.slice(0, 5)) {
      expect([...all].filter((id) => id.startsWith(s))).toHaveLength(1);
      const show = await lessons(['--dir', big, '--json', 'show', s]);
      expect(show.code).toBe(0);
    }
  });

  it('formats with named layouts and templates, and refuses an unknown one', async () => {
    const ids = await lessons(['--dir', big, 'list', '--limit', '3', '--format', 'ids']);
    expect(ids.stdout.trim().split('\n')).toEqual(
      readRows(big)
        .sort((a, b) => (a.id < b.id ? 1 : -1))
        .slice(0, 3)
        .map((r) => r.id),
    );
    const template = await lessons([
      '--dir',
      big,
      'search',
      'number',
      '4',
      '--limit',
      '1',
      '--format',
      '{kind}|{domain}|{title}',
    ]);
    expect(template.stdout.trim()).toMatch(/^(failure|heuristic)\|[a-z]+\|.*4/);
    const bad = await lessons(['--dir', big, 'list', '--format', '{nope}']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('{nope}');
  });

  it('takes --since as 7d, 2w or an ISO date', async () => {
    for (const since of [
      '7d',
      '2w',
      new Date(Date.now() - 86_400_000).toISOString().slice(0, 10),
    ]) {
      const run = await lessons(['--dir', big, '--json', 'list', '--since', since, '--limit', '1']);
      expect(run.json, since).toMatchObject({ ok: true, total: 5001 });
    }
    const future = await lessons(['--dir', big, '--json', 'list', '--since', '2999-01-01']);
    expect(future.json).toMatchObject({ ok: true, total: 0 });
    const bad = await lessons(['--dir', big, 'list', '--since', 'yesterday-ish']);
    expect(bad.code).toBe(2);
  });
});

describe('colour', () => {
  it('marks search hits and severities on a terminal, never in a pipe, and honours NO_COLOR and FORCE_COLOR', async () => {
    const onTerminal = inTerminal(lessonsCommand(['--dir', big, 'search', 'stampede', 'cache']));
    const { dir } = await smallStore();
    const hit = inTerminal(lessonsCommand(['--dir', dir, 'search', 'stampede']));
    expect(hit.screen).toContain('\u001b[');
    expect(onTerminal.code).toBe(0);
    const noColor = inTerminal(lessonsCommand(['--dir', dir, 'search', 'stampede']), {
      NO_COLOR: '1',
    });
    expect(noColor.screen).not.toContain('\u001b[');
    const piped = await lessons(['--dir', dir, 'search', 'stampede']);
    expect(piped.stdout).not.toContain('\u001b[');
    const forced = await lessons(['--dir', dir, 'search', 'stampede'], {
      env: { FORCE_COLOR: '1' },
    });
    expect(forced.stdout).toContain('\u001b[');
  });
});

describe('progress', () => {
  it('draws reindex progress on a terminal stderr, ends it with a newline, and keeps stdout clean', () => {
    const dir = tempDir();
    const out = path.join(dir, 'out.txt');
    const { screen, code } = inTerminal(`${lessonsCommand(['--dir', big, 'reindex'])} > ${out}`);
    expect(code).toBe(0);
    const counts = progressCounts(screen, 5001);
    expect(counts).toContain(5001);
    expect(counts.length).toBeGreaterThan(1);
    expect(screen.trimEnd()).toMatch(/5001\/5001 100%(\u001b(\[[0-9;?]*[A-Za-z]|\d))*$/);
    expect(screen).toMatch(/\r?\n$/);
    const result = fs.readFileSync(out, 'utf8');
    expect(result).toMatch(/^reindex: 5001 rows rebuilt/);
    expect(result).not.toContain('\u001b');
  });

  it('draws verify --deep progress through the records, then the git objects', () => {
    const out = path.join(tempDir(), 'out.txt');
    const { screen, code } = inTerminal(
      `${lessonsCommand(['--dir', big, 'verify', '--deep'])} > ${out}`,
    );
    expect(code).toBe(0);
    expect(screen).toMatch(/verify checking records \[[^\]]*\] 5001\/5001/);
    expect(screen).toMatch(/verify hashing git objects \[[^\]]*\] (\d+)\/\1 100%/);
    expect(fs.readFileSync(out, 'utf8')).toMatch(/^verify: clean\. 5001 records/);
  });

  it('draws nothing when stderr is a pipe, or under --json', async () => {
    const piped = await lessons(['--dir', big, 'verify']);
    expect(piped.stderr).toBe('');
    const json = inTerminal(lessonsCommand(['--dir', big, '--json', 'verify']));
    expect(json.screen).not.toMatch(/\d+\/5001/);
    expect(JSON.parse(json.screen.trim())).toMatchObject({ ok: true, records: 5001 });
  });
});
