'use strict';
// node:assert as the record bundle sees it (build.mjs aliases it here). Its callers there are
// signal-exit, through proper-lockfile (assert.equal on its own arguments), and graceful-fs in
// debug mode. Loading node's assert costs a cold record ~3 ms of CPU, so `equal` is checked
// here, and only a failure, or any other use, loads the real module.

function real() {
  return process.getBuiltinModule('node:assert');
}

function equal(actual, expected, message) {
  // Loose equality, as assert.equal; the real module reports a failure.
  if (actual != expected) real().equal(actual, expected, message);
}

module.exports = new Proxy(
  function assert(...args) {
    return real()(...args);
  },
  {
    get(_target, key) {
      return key === 'equal' ? equal : real()[key];
    },
  },
);
