import { AssertionError } from 'node:assert';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

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
