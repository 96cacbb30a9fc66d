'use strict';
// node:assert as the record bundle sees it (build.mjs aliases it there). Its one caller there is
// signal-exit, through proper-lockfile: a CommonJS require, then assert.equal on its own
// arguments. Loading node's assert costs a cold record ~3 ms of CPU, so `equal` is checked
// here, and only a failure, or any other property, loads the real module. It serves property
// access only: an ES module importing names from it would find none (so main.cjs, where yargs
// does that, keeps the real assert).

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
