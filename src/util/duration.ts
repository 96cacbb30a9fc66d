// Durations on the command line: "500ms", "10s", "10m", "1h" (parsed by `ms`), or a bare
// number of seconds.

import ms from 'ms';
import { InvalidInputError } from '../errors/index.js';

export function parseDuration(field: string, raw: string | number): number {
  const text = String(raw).trim();
  const value = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : ms(text as ms.StringValue);
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidInputError(
      field,
      `${JSON.stringify(text)} is not a duration`,
      'Use a number of seconds or a duration such as 500ms, 30s, 10m, 1h.',
    );
  }
  return value;
}
