// Object ids as git computes them: sha1 over "<type> <size>\0<content>".

import { createHash } from 'node:crypto';

export type ObjectType = 'blob' | 'tree' | 'commit' | 'tag';

export function objectHeader(type: ObjectType, size: number): Buffer {
  return Buffer.from(`${type} ${size}\0`, 'latin1');
}

export function hashObject(type: ObjectType, content: Uint8Array): string {
  return createHash('sha1')
    .update(objectHeader(type, content.length))
    .update(content)
    .digest('hex');
}

export function sha256(content: Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}

export const ZERO_OID = '0'.repeat(40);

export function isOid(value: string): boolean {
  return /^[0-9a-f]{40}$/.test(value);
}
