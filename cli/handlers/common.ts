// Shared by handlers: opening the store from global flags, and reading --body-file.

import fs from 'node:fs';
import { InvalidInputError, UsageError } from '../../src/errors/index.js';
import { openStore, type Store } from '../../src/store/store.js';
import { parseDuration } from '../../src/util/duration.js';
import type { GlobalArgs } from '../output.js';

export async function storeFrom(args: GlobalArgs): Promise<Store> {
  return openStore({
    dir: args.dir,
    lockTimeoutMs:
      args.lockTimeout === undefined
        ? undefined
        : parseDuration('--lock-timeout', args.lockTimeout),
  });
}

/** The operand `name` of `command`, which yargs leaves optional so unknown flags come first. */
export function operand<T>(value: T | undefined, command: string, name: string, what: string): T {
  if (value === undefined || (Array.isArray(value) && value.length === 0))
    throw new UsageError(
      'USAGE',
      `\`lessons ${command}\` needs ${name}: ${what}. Run \`lessons ${command} --help\` for usage.`,
    );
  return value;
}

/**
 * A flag that takes a whole number >= 1 (`--limit`), named with its bad value. yargs is told
 * it is a string: its own number parsing turns "abc" into NaN and loses what was typed.
 */
export function wholeNumber(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const text = String(raw).trim();
  if (!/^\d+$/.test(text) || Number(text) < 1)
    throw new InvalidInputError(
      flag,
      `${JSON.stringify(text)} is not a whole number >= 1`,
      `Pass ${flag} N with N a whole number, for example ${flag} 100.`,
    );
  return Number(text);
}

/** Read a body file ("-" for stdin) as strict UTF-8. */
export function readBodyFile(flag: string, file: string | undefined): string | undefined {
  if (file === undefined || file === '') return undefined;
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file === '-' ? 0 : file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory'
          : `it cannot be read (${code})`;
    throw new InvalidInputError(
      flag,
      `${JSON.stringify(file)}: ${why}`,
      'Pass the path of a readable Markdown file, or - for stdin.',
    );
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InvalidInputError(
      flag,
      `${JSON.stringify(file)} is not valid UTF-8`,
      'Convert the file to UTF-8 and try again.',
    );
  }
}

/** The flag's value, else the environment variable `<prefix>_<NAME>`. */
export function fromEnv(
  value: string | undefined,
  prefix: string,
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  return value ?? env[`${prefix}_${name}`];
}
