// Build: tsc emits the library (dist/src, with types); esbuild bundles each command-line entry
// (dist/cli) so a cold start reads a few files instead of resolving hundreds of modules.
// Command handlers stay in lazily loaded chunks; better-sqlite3 is native and stays external.

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import * as esbuild from 'esbuild';

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const cliOnly = process.argv.includes('--cli-only');

if (!cliOnly) {
  rmSync('dist', { recursive: true, force: true });
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
}
rmSync('dist/cli', { recursive: true, force: true });

// The full command line, and the record fast path again on its own, as CommonJS bundles the bins
// run with a V8 code cache (cli/cached.ts). Command handlers are still evaluated lazily: esbuild
// turns each import() into a deferred initialiser. A few dependencies (yargs) are ES modules
// that ask for import.meta.url, which the banner provides.
const cjsBase = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minify: true,
  logLevel: 'warning',
};
// secretlint's recommended preset loads node-forge (about 300 kB minified) only to open a GCP
// service account's binary .p12 file by its path on disk. lessons scans the text of records,
// never files, so that one dynamic import is left out of the bundles: a cold start does not
// read it, and the rule's text checks (service account JSON keys) are unchanged.
const noForge = {
  name: 'secretlint-without-node-forge',
  setup(build) {
    build.onResolve({ filter: /^\.\/index-[\w-]+\.js$/ }, (args) =>
      args.kind === 'dynamic-import' && args.importer.includes('secretlint-rule-preset-recommend')
        ? { path: 'node-forge', namespace: 'lessons-stub' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'lessons-stub' }, () => ({
      contents: 'export const i = { default: undefined };',
      loader: 'js',
    }));
  },
};
// An ES module import of a Node built-in (`import fs from 'node:fs'`) becomes, in a CommonJS
// bundle, a copy of the module's every property made at each importing module (esbuild's
// __toESM): some 6,000 property definitions for the record path's ~60 importers, 10-13 ms of a
// cold record. Here each built-in is wrapped once, as an ES module that exports the module
// itself as default and its plain properties by name; lazy getters (`fs.promises`, which would
// load fs/promises) are left out, so importing one by name fails the build until it is added
// to GETTERS here, where its cost at each cold start can be weighed.
const RESERVED = new Set(['default', 'delete', 'new', 'function', 'class', 'import', 'export']);
const GETTERS = new Set(['parseArgs']);
const builtinsOnce = {
  name: 'node-builtins-once',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (args) =>
      args.kind === 'import-statement'
        ? { path: args.path, namespace: 'lessons-builtin' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'lessons-builtin' }, (args) => {
      const module = process.getBuiltinModule(args.path);
      const names = Object.getOwnPropertyNames(module).filter(
        (name) =>
          /^[A-Za-z_$][\w$]*$/.test(name) &&
          !RESERVED.has(name) &&
          ('value' in Object.getOwnPropertyDescriptor(module, name) || GETTERS.has(name)),
      );
      return {
        contents:
          `const m = require(${JSON.stringify(args.path)});\nexport default m;\n` +
          (names.length === 0 ? '' : `export const { ${names.join(', ')} } = m;\n`),
        loader: 'js',
      };
    });
  },
};
const commonJs = {
  ...cjsBase,
  plugins: [noForge, builtinsOnce],
  external: ['better-sqlite3'],
  // graceful-fs is proper-lockfile's default fs, which lessons never uses (it passes its own);
  // its patching of node:fs loads streams. secretlint's profiler and `debug`: see their shims.
  alias: {
    'graceful-fs': 'node:fs',
    '@secretlint/profiler': './cli/shims/secretlint-profiler.cjs',
    debug: './cli/shims/debug.cjs',
  },
  banner: { js: "var __lessonsImportMetaUrl=require('node:url').pathToFileURL(__filename).href;" },
  define: {
    __LESSONS_VERSION__: JSON.stringify(version),
    'import.meta.url': '__lessonsImportMetaUrl',
  },
};
await esbuild.build({
  ...commonJs,
  entryPoints: ['cli/main.ts'],
  outfile: 'dist/cli/main.cjs',
  sourcemap: 'linked',
});
// verify's scan thread (src/maintenance/scan-thread.ts), beside main.cjs where it looks for it.
await esbuild.build({
  ...commonJs,
  entryPoints: ['src/maintenance/scan-worker.ts'],
  outfile: 'dist/cli/scan-worker.cjs',
  sourcemap: 'linked',
});
// The read thread of rebuilds of index.db (src/db/read-thread.ts), beside the bundles that start it.
await esbuild.build({
  ...commonJs,
  entryPoints: ['src/db/read-worker.ts'],
  outfile: 'dist/cli/read-worker.cjs',
  sourcemap: 'linked',
});
await esbuild.build({
  ...commonJs,
  entryPoints: ['cli/record-path.ts'],
  outfile: 'dist/cli/record.cjs',
  external: [],
  // A record need not load node:assert either; see the shim. (yargs, in main.cjs, needs it.)
  alias: { ...commonJs.alias, assert: './cli/shims/assert.cjs' },
});

// The MCP server, with the SDK, on its own: only `lessons mcp` loads it (cli/handlers/mcp.ts).
// Without Ajv, which the SDK's Server only needs for elicitation (see cli/shims/ajv.cjs).
await esbuild.build({
  ...commonJs,
  alias: { ...commonJs.alias, ajv: './cli/shims/ajv.cjs', 'ajv-formats': './cli/shims/ajv.cjs' },
  entryPoints: ['cli/mcp-server.ts'],
  outfile: 'dist/cli/mcp.cjs',
  sourcemap: 'linked',
});

// The bins, small CommonJS launchers (cli/launch.ts).
const bins = ['lessons', 'record-failure', 'record-heuristic'];
await esbuild.build({
  entryPoints: bins.map((name) => `cli/${name}.ts`),
  outdir: 'dist/cli',
  outExtension: { '.js': '.cjs' },
  ...cjsBase,
});
for (const name of bins) chmodSync(`dist/cli/${name}.cjs`, 0o755);

// The caches are taken after real commands, so they hold the functions those compile, not only
// the top level: two records (a new store, then an existing one, the common case) for
// record.cjs, then the reading and checking commands, one after another, for main.cjs (each run
// starts from the cache the last one wrote, and adds what it compiled).
const scratch = mkdtempSync(path.join(os.tmpdir(), 'lessons-build-'));
const runs = [
  ['record-failure', '--title', 'code cache: first record', '--domain', 'build', '--quiet'],
  ['record-failure', '--title', 'code cache: second record', '--domain', 'build', '--quiet'],
  ['list'],
  ['search', 'cache'],
  ['context', '--domain', 'build'],
  ['stats'],
  ['verify'],
  ['--help'],
];
try {
  for (const [command, ...args] of runs)
    execFileSync(process.execPath, ['dist/cli/lessons.cjs', '--dir', scratch, command, ...args], {
      stdio: 'ignore',
      env: {
        ...process.env,
        LESSONS_WRITE_CODE_CACHE: '1',
        LESSONS_AUTHOR_NAME: 'lessons build',
        LESSONS_AUTHOR_EMAIL: 'build@lessons.invalid',
      },
    });
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
