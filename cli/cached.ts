// Runs the command line's CommonJS bundles with a V8 code cache, so a cold start skips most
// parsing and compiling: dist/cli/record.cjs (the record fast path; about 15-20 ms of the
// ~120 ms of CPU a record costs, which is what bounds a hundred concurrent writers on two cores)
// and dist/cli/main.cjs (every other command, with yargs; about 35 ms). Node 20 has no module
// compile cache, hence the CommonJS bundles and vm.Script.
//
// The caches (<bundle>.cache) are made by the build, from real commands on a scratch store.
// V8 rejects a cache made by another Node version or with other flags; the bundle then compiles
// as usual, and a fresh cache is written beside it when that directory is writable.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

export type RecordPath = typeof import('./record-path.js');
export type Main = typeof import('./main.js');
export type McpBundle = typeof import('./mcp-server.js');

type CommonJsWrapper = (
  exports: object,
  require: NodeJS.Require,
  module: { exports: object },
  filename: string,
  dirname: string,
) => void;

/** The exports of the CommonJS bundle at `file`; undefined when it is not built. */
export function loadCached<T>(file: string): T | undefined {
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
  return module.exports as T;
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
