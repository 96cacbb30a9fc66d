// The record fast path as one CommonJS bundle, dist/cli/record.cjs, which the bins run through
// a V8 code cache (cached.ts). Nothing here may import yargs.

export { runFast, splitLessonsArgv } from './fast.js';
