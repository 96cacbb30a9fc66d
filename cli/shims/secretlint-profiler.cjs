'use strict';
// @secretlint/profiler as the command line's bundles see it (build.mjs aliases it here).
// secretlint's core marks each rule it runs on a profiler that lessons never reads, and which
// src/record/secrets.ts switches off anyway; the real one loads node:perf_hooks (about 2 ms of a
// cold record) to build it. Here `mark` does nothing and nothing is ever measured.

class SecretLintProfiler {
  mark() {}
  getEntries() {
    return [];
  }
  getMeasures() {
    return Promise.resolve([]);
  }
}

module.exports.SecretLintProfiler = SecretLintProfiler;
module.exports.secretLintProfiler = new SecretLintProfiler();
