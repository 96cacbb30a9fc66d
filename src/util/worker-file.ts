// Where a worker thread's own file is: beside the module that starts it, as the build left it
// (`<name>.cjs` beside a CommonJS bundle of dist/cli, `<name>.js` beside dist/src's modules).
// The sources vitest runs have none, and neither may a bundle someone made without it: the
// caller then does the same work inline.

import fs from 'node:fs';

/** The worker `name` beside the module at `here` (its import.meta.url), or undefined. */
export function workerFile(here: string, name: string): URL | undefined {
  const file = here.endsWith('.cjs')
    ? `./${name}.cjs`
    : here.endsWith('.js')
      ? `./${name}.js`
      : undefined;
  if (file === undefined) return undefined;
  const url = new URL(file, here);
  return fs.existsSync(url) ? url : undefined;
}

/** A size bar from the environment (tests move it: 0 always, huge never), else `fallback`. */
export function barFromEnv(variable: string, fallback: number): number {
  const forced = process.env[variable];
  return forced === undefined || forced === '' ? fallback : Number(forced);
}
