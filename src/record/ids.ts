// Record ids: ULIDs, time-sortable and globally unique, so stores on different machines never
// collide, and monotonic within a process (and, under the writers' lock, within a store:
// txn/clock.ts).

import { randomFillSync } from 'node:crypto';
import { decodeTime, encodeTime, monotonicFactory, ulid } from 'ulid';

const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

// ulid's own source of randomness asks the OS for one byte per character (16 calls per id,
// 50 us); a pool filled from the same source 4 KB at a time gives the same bytes far cheaper.
const pool = Buffer.alloc(4096);
let poolAt = pool.length;
function pooledRandom(): number {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  return pool[poolAt++]! / 256;
}

const nextUlid = monotonicFactory(pooledRandom);

/**
 * Create a ULID. Without `time`, ids from this process are strictly increasing; with `time`
 * (an imported record's original date), the id carries that moment and fresh randomness.
 */
export function newId(time?: number): string {
  return time === undefined ? nextUlid() : ulid(time, pooledRandom);
}

/** A ULID for a new record at `time` (the writer's clock), increasing within the process. */
export function clockId(time: number): string {
  return nextUlid(time);
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * The smallest-step ULID after `floor`, for a writer whose clock is behind the store: at
 * `time` when that is later than floor's moment, else at floor's moment with its random part
 * incremented, as ULID's monotonic factory does within a process.
 */
export function idAfter(floor: string, time: number): string {
  const floorTime = decodeTime(floor);
  if (time > floorTime) return nextUlid(time);
  const chars = floor.slice(10).split('');
  for (let i = chars.length - 1; i >= 0; i--) {
    const next = CROCKFORD.indexOf(chars[i]!) + 1;
    if (next < CROCKFORD.length) {
      chars[i] = CROCKFORD[next]!;
      return `${floor.slice(0, 10)}${chars.join('')}`;
    }
    chars[i] = '0';
  }
  return `${encodeTime(floorTime + 1, 10)}${chars.join('')}`;
}

/** The moment a ULID carries, as epoch ms. */
export function idTime(id: string): number {
  return decodeTime(id);
}

export function isUlid(value: string): boolean {
  return ULID_PATTERN.test(value);
}
