import { AssertionError } from 'node:assert';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { BIN, runCli, tempStore } from '../helpers/store.js';

const require = createRequire(import.meta.url);

describe('the assert stand-in of the record bundle', () => {
  const assert = require('../../cli/shims/assert.cjs') as typeof import('node:assert');

  it('checks equal loosely, as node:assert does, and fails with its error', () => {
    expect(() => assert.equal(typeof (() => 0), 'function', 'a callback')).not.toThrow();
    expect(() => assert.equal(1, '1')).not.toThrow();
    expect(() => assert.equal(1, 2, 'one is not two')).toThrow(AssertionError);
    expect(() => assert.equal(1, 2, 'one is not two')).toThrow('one is not two');
  });

  it('hands every other use to node:assert', () => {
    expect(() => assert(false, 'called as a function')).toThrow(AssertionError);
    expect(() => assert.ok(0)).toThrow(AssertionError);
    expect(() => assert.deepStrictEqual({ a: 1 }, { a: 1 })).not.toThrow();
  });
});

describe('the debug stand-in of the bundles', () => {
  const createDebug = require('../../cli/shims/debug.cjs') as (namespace: string) => {
    (...args: unknown[]): void;
    namespace: string;
    enabled: boolean;
    extend: (suffix: string) => { namespace: string };
  };

  it('gives a logger that is off and prints nothing, as secretlint calls it', () => {
    const log = createDebug('@secretlint/core');
    expect(log.enabled).toBe(false);
    expect(log('source filePath: %O', 'x')).toBeUndefined();
    expect(log.extend('rule').namespace).toBe('@secretlint/core:rule');
  });
});

describe("the stand-in of secretlint's profiler", () => {
  const profiler =
    require('../../cli/shims/secretlint-profiler.cjs') as typeof import('@secretlint/profiler');

  it('takes marks and keeps none', async () => {
    profiler.secretLintProfiler.mark({ type: '@core>lint::start', id: 'x' } as never);
    expect(profiler.secretLintProfiler.getEntries()).toEqual([]);
    expect(await profiler.secretLintProfiler.getMeasures()).toEqual([]);
  });

  it('leaves the scan whole: a record with a secret is still refused through the bins', async () => {
    const dir = tempStore();
    const secret = ['--summary', 'AKIAIOSFODNN7EXAMPLX leaked'];
    const args = ['--dir', dir, '--json', '--title', 'key', '--domain', 'x', ...secret];
    const result = await runCli(BIN.recordFailure, args);
    expect(result.code).toBe(2);
    expect(result.json).toMatchObject({ ok: false, error: { code: 'SECRET_DETECTED' } });
    expect(fs.existsSync(dir)).toBe(false);
  });
});
