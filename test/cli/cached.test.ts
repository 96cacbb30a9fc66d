import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BIN,
  consistencyProblems,
  ROOT,
  runCli,
  storeState,
  tempDir,
  tempStore,
} from '../helpers/store.js';

const CLI_DIR = path.join(ROOT, 'dist', 'cli');

/** A copy of the built command line, to damage without disturbing other tests. */
function cliCopy(): string {
  const dir = path.join(tempDir(), 'cli');
  fs.cpSync(CLI_DIR, dir, { recursive: true });
  return dir;
}

// The copy lives outside the repository; better-sqlite3 is found through NODE_PATH.
const env = { NODE_PATH: path.join(ROOT, 'node_modules') };

/** Run `bin` of the copy at `cli` on the store at `dir`, with --json. */
function runCopy(
  cli: string,
  bin: string,
  dir: string,
  args: readonly string[],
  extraEnv: NodeJS.ProcessEnv = {},
): ReturnType<typeof runCli> {
  return runCli(path.join(cli, bin), ['--dir', dir, '--json', ...args], {
    env: { ...env, ...extraEnv },
  });
}

describe('the command line bundles with a V8 code cache', () => {
  it('is built with a cache that this Node accepts (a run does not rewrite it)', async () => {
    const cli = cliCopy();
    const cache = path.join(cli, 'record.cjs.cache');
    const before = fs.readFileSync(cache);
    const dir = tempStore();
    const result = await runCopy(cli, 'record-failure.cjs', dir, [
      '--title',
      'cached',
      '--domain',
      'x',
    ]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(fs.readFileSync(cache).equals(before)).toBe(true);
    expect(storeState(dir).rows.map((r) => r.title)).toEqual(['cached']);
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('runs the full command line (main.cjs) from its cache too, without rewriting it', async () => {
    const cli = cliCopy();
    const cache = path.join(cli, 'main.cjs.cache');
    const before = fs.readFileSync(cache);
    const dir = tempStore();
    const recorded = await runCopy(cli, 'lessons.cjs', dir, [
      'record-failure',
      '--title',
      'listed',
      '--domain',
      'x',
    ]);
    expect(recorded.code).toBe(0);
    const listed = await runCopy(cli, 'lessons.cjs', dir, ['list']);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    expect(listed.json).toMatchObject({ records: [{ title: 'listed', domain: 'x' }] });
    expect(fs.readFileSync(cache).equals(before)).toBe(true);
  });

  it('records as usual with a damaged cache, and writes a good one back', async () => {
    const cli = cliCopy();
    const cache = path.join(cli, 'record.cjs.cache');
    fs.writeFileSync(cache, Buffer.from('not a V8 code cache'));
    const dir = tempStore();
    const result = await runCopy(cli, 'record-failure.cjs', dir, [
      '--title',
      'uncached',
      '--domain',
      'x',
    ]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(fs.statSync(cache).size).toBeGreaterThan(100_000);
    expect(Object.keys(storeState(dir).tree)).toEqual([result.json!.path]);
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('falls back to the full command line (main.cjs) when record.cjs is missing', async () => {
    const dir = tempStore();
    const cli = cliCopy();
    fs.rmSync(path.join(cli, 'record.cjs'));
    const result = await runCopy(cli, 'record-heuristic.cjs', dir, [
      '--rule',
      'no bundle',
      '--domain',
      'x',
    ]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(storeState(dir).rows.map((r) => r.title)).toEqual(['no bundle']);
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('falls back to main.cjs when record.cjs cannot be loaded (half written)', async () => {
    const dir = tempStore();
    const cli = cliCopy();
    const bundle = path.join(cli, 'record.cjs');
    fs.writeFileSync(bundle, fs.readFileSync(bundle, 'utf8').slice(0, 10_000));
    const result = await runCopy(cli, 'record-failure.cjs', dir, [
      '--title',
      'half a bundle',
      '--domain',
      'x',
    ]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(storeState(dir).rows.map((r) => r.title)).toEqual(['half a bundle']);
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('reports a missing main.cjs as one error line and the JSON object, exit 70', async () => {
    const dir = tempStore();
    const cli = cliCopy();
    fs.rmSync(path.join(cli, 'main.cjs'));
    const result = await runCopy(cli, 'lessons.cjs', dir, ['list'], {
      NODE_OPTIONS: '--unhandled-rejections=warn',
    });
    expect(result.code).toBe(70);
    expect(result.json).toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
    expect(result.stderr).toMatch(/^lessons: .*main\.cjs is missing/);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('keeps yargs, the progress bar, colour and completion out of the record path bundle', () => {
    // Markers that survive minification: yargs' error name, cli-progress' preset, picocolors'
    // factory, the completion flag. The full command line has them all.
    const markers = ['YError', 'shades_classic', 'createColors', 'get-yargs-completions'];
    const record = fs.readFileSync(path.join(ROOT, 'dist/cli/record.cjs'), 'utf8');
    const main = fs.readFileSync(path.join(ROOT, 'dist/cli/main.cjs'), 'utf8');
    for (const marker of markers) {
      expect(main, marker).toContain(marker);
      expect(record, marker).not.toContain(marker);
    }
  });

  it('loads no built-in module a record does not use (child_process, tty, net, assert)', async () => {
    // What each cost a cold record: child_process with dgram and net 4 ms, tty (for debug's
    // colours) 1 ms, net (the stdout pipe) 4 ms, assert 3 ms.
    const dir = tempStore();
    const list = path.join(tempDir(), 'modules.txt');
    const preload = path.join(tempDir(), 'list-modules.cjs');
    fs.writeFileSync(
      preload,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));\n`,
    );
    const result = await runCli(
      BIN.recordFailure,
      ['--dir', dir, '--json', '--title', 'lean', '--domain', 'x'],
      { env: { NODE_OPTIONS: `--require ${preload}` } },
    );
    expect(result.code).toBe(0);
    expect(result.json).toMatchObject({ kind: 'failure' });
    const loaded = fs.readFileSync(list, 'utf8').split('\n');
    expect(loaded).toContain('NativeModule crypto');
    for (const name of ['child_process', 'tty', 'net', 'assert'])
      expect(loaded, name).not.toContain(`NativeModule ${name}`);
    expect(storeState(dir).rows.map((r) => r.title)).toEqual(['lean']);
    expect(consistencyProblems(dir)).toEqual([]);
  });

  it('hands anything but plain flags to yargs, from every bin', async () => {
    for (const bin of [BIN.lessons, BIN.recordFailure, BIN.recordHeuristic]) {
      const result = await runCli(bin, ['--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('--lock-timeout');
    }
  });
});
