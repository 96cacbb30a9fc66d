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

// The full command line, an ES module whose command handlers stay in lazily loaded chunks.
await esbuild.build({
  entryPoints: ['cli/main.ts'],
  outdir: 'dist/cli',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  sourcemap: 'linked',
  external: ['better-sqlite3'],
  chunkNames: 'chunks/[name]-[hash]',
  // Bundled CommonJS dependencies call require() for node built-ins.
  banner: {
    js: "import{createRequire as __lessonsRequire}from'node:module';const require=__lessonsRequire(import.meta.url);",
  },
  define: { __LESSONS_VERSION__: JSON.stringify(version) },
  logLevel: 'warning',
});

// The bins, small CommonJS launchers (cli/launch.ts) that import main.js only when needed.
const bins = ['lessons', 'record-failure', 'record-heuristic'];
await esbuild.build({
  entryPoints: bins.map((name) => `cli/${name}.ts`),
  outdir: 'dist/cli',
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minify: true,
  logLevel: 'warning',
});
for (const name of bins) chmodSync(`dist/cli/${name}.cjs`, 0o755);

// The record fast path again, as one CommonJS bundle the bins run with a V8 code cache
// (cli/cached.ts).
await esbuild.build({
  entryPoints: ['cli/record-path.ts'],
  outfile: 'dist/cli/record.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minify: true,
  external: ['better-sqlite3'],
  // Two built-ins a cold record need not load. graceful-fs (proper-lockfile's default fs, which
  // lessons never uses: it passes its own) patches node:fs and loads streams; assert: see the
  // shim.
  alias: { 'graceful-fs': 'node:fs', assert: './cli/shims/assert.cjs' },
  define: { __LESSONS_VERSION__: JSON.stringify(version) },
  logLevel: 'warning',
});

// The cache is taken after real records (a new store, then an existing one, the common case),
// so it holds the functions a record compiles, not only the top level.
const scratch = mkdtempSync(path.join(os.tmpdir(), 'lessons-build-'));
try {
  for (const title of ['code cache: first record', 'code cache: second record'])
    execFileSync(
      process.execPath,
      [
        'dist/cli/record-failure.cjs',
        '--dir',
        scratch,
        '--title',
        title,
        '--domain',
        'build',
        '--quiet',
      ],
      {
        stdio: 'inherit',
        env: {
          ...process.env,
          LESSONS_WRITE_CODE_CACHE: '1',
          LESSONS_AUTHOR_NAME: 'lessons build',
          LESSONS_AUTHOR_EMAIL: 'build@lessons.invalid',
        },
      },
    );
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
