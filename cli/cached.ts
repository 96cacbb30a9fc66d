// Runs dist/cli/record.cjs (the record fast path, one CommonJS bundle) with a V8 code cache, so a
// cold `record-failure` skips most parsing and compiling: about 15-20 ms of the ~140 ms of CPU
// a record costs, which is what bounds a hundred concurrent writers on two cores. Node 20 has
// no module compile cache for ES modules, hence the CommonJS bundle and vm.Script.
//
// The cache (record.cjs.cache) is made by the build, from real records into a scratch store.
// V8 rejects a cache made by another Node version or with other flags; the bundle then compiles
// as usual, and a fresh cache is written beside it when that directory is writable.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

export type RecordPath = typeof import('./record-path.js');

type CommonJsWrapper = (
  exports: object,
  require: NodeJS.Require,
  module: { exports: object },
  filename: string,
  dirname: string,
) => void;

/** The record fast path bundled at `file` (record.cjs); undefined when not built. */
export function loadRecordPath(file: string): RecordPath | undefined {
  let source: string;
  try {
    source = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const cacheFile = `${file}.cache`;
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(
    `(function (exports, require, module, __filename, __dirname) {${source}\n})`,
    { filename: file, ...(cachedData === undefined ? {} : { cachedData }) },
  );
  if (process.env.LESSONS_WRITE_CODE_CACHE === '1' || script.cachedDataRejected === true)
    process.once('exit', () => writeCache(cacheFile, script));
  const module = { exports: {} };
  (script.runInThisContext() as CommonJsWrapper)(
    module.exports,
    createRequire(file),
    module,
    file,
    path.dirname(file),
  );
  return module.exports as RecordPath;
}

/** After the run, so the cache holds every function the record compiled. Best effort. */
function writeCache(cacheFile: string, script: vm.Script): void {
  const temp = `${cacheFile}.tmp-${process.pid}`;
  try {
    fs.writeFileSync(temp, script.createCachedData());
    fs.renameSync(temp, cacheFile);
  } catch {
    fs.rmSync(temp, { force: true });
  }
}
