// `--` ends the options: everything after it is an operand, even what looks like a flag
// (`lessons search -- -x`, `lessons show -- -weird-path.md`). yargs stops parsing at `--` but
// does not hand what follows to a command's positionals (yargs/yargs#1732: "Not enough
// non-option arguments"), so operands after `--` are given to it as placeholders it cannot take
// for flags, and put back before the handler runs. No real argument holds a NUL, so no
// placeholder can be mistaken for one.

import { GLOBAL_OPTIONS } from './report.js';

const MARK = '\u0000lessons-operand-';
const PLACEHOLDER = /\u0000lessons-operand-(\d+)\u0000/g;

export interface Operands {
  /** The arguments to give yargs: `--` gone, the operands after it as placeholders. */
  readonly argv: string[];
  /** Put the operands back wherever yargs placed them (positionals, `_`). */
  restore(value: unknown): unknown;
  /** A message with the placeholders shown as the operands they stand for. */
  unmask(message: string): string;
}

/**
 * `command` tells whether argv starts with a command name (`lessons`) or not (the standalone
 * record bins). When the command itself comes after `--`, it stays as it is: it is the first
 * operand of `lessons`.
 */
export function protectOperands(argv: readonly string[], hasCommand: boolean): Operands {
  const end = argv.indexOf('--');
  const originals: string[] = [];
  if (end < 0) return { argv: [...argv], restore: (v) => v, unmask: (m) => m };
  const before = argv.slice(0, end);
  const after = argv.slice(end + 1);
  const kept: string[] = [];
  if (hasCommand && !namesCommand(before) && after.length > 0) kept.push(after.shift()!);
  const placeholders = after.map((operand) => {
    originals.push(operand);
    return `${MARK}${originals.length - 1}\u0000`;
  });
  const put = (text: string): string =>
    text.replace(PLACEHOLDER, (_, i: string) => originals[Number(i)]!);
  const restore = (value: unknown): unknown => {
    if (typeof value === 'string') return value.startsWith(MARK) ? put(value) : value;
    if (Array.isArray(value)) return value.map(restore);
    return value;
  };
  return {
    argv: [...before, ...kept, ...placeholders],
    restore: (args) => {
      if (typeof args !== 'object' || args === null) return restore(args);
      const record = args as Record<string, unknown>;
      for (const key of Object.keys(record)) record[key] = restore(record[key]);
      return record;
    },
    unmask: (message) =>
      message.replace(PLACEHOLDER, (_, i: string) => JSON.stringify(originals[Number(i)])),
  };
}

/** True when the arguments before `--` name a command (a word that is not a global option's value). */
function namesCommand(before: readonly string[]): boolean {
  const globals = GLOBAL_OPTIONS as Record<string, { type: string }>;
  for (let i = 0; i < before.length; i++) {
    const token = before[i]!;
    if (!token.startsWith('-')) return true;
    const name = token.replace(/^--?/, '').split('=')[0]!;
    if (!token.includes('=') && globals[name]?.type === 'string') i++;
  }
  return false;
}
