// Commit objects: formatting with trailers, and parsing back what recovery and verify need.

import { CorruptObjectError } from '../errors/index.js';
import { type ObjectStore } from './objects.js';

export interface Signature {
  readonly name: string;
  readonly email: string;
}

export interface CommitFields {
  readonly tree: string;
  readonly parents: readonly string[];
  readonly author: Signature;
  readonly committer: Signature;
  /** Seconds since the epoch. */
  readonly time: number;
  readonly message: string;
}

export interface ParsedCommit {
  readonly oid: string;
  readonly tree: string;
  readonly parents: readonly string[];
  readonly message: string;
  /** Committer time, seconds since the epoch (0 when the header has none). */
  readonly time: number;
}

function sanitize(value: string): string {
  // git refuses "<", ">" and line breaks in identities.
  return value.replace(/[<>\n\r\0]/g, '').trim();
}

function signature(who: Signature, time: number): string {
  return `${sanitize(who.name) || 'lessons'} <${sanitize(who.email)}> ${time} +0000`;
}

export function formatCommit(fields: CommitFields): Buffer {
  const lines = [`tree ${fields.tree}`];
  for (const parent of fields.parents) lines.push(`parent ${parent}`);
  lines.push(
    `author ${signature(fields.author, fields.time)}`,
    `committer ${signature(fields.committer, fields.time)}`,
    '',
    fields.message,
  );
  const text = lines.join('\n');
  return Buffer.from(text.endsWith('\n') ? text : `${text}\n`, 'utf8');
}

export function parseCommit(oid: string, content: Buffer): ParsedCommit {
  const text = content.toString('utf8');
  const split = text.indexOf('\n\n');
  const header = split < 0 ? text : text.slice(0, split);
  const message = split < 0 ? '' : text.slice(split + 2);
  let tree: string | undefined;
  const parents: string[] = [];
  let time = 0;
  for (const line of header.split('\n')) {
    if (line.startsWith('tree ')) tree = line.slice(5);
    else if (line.startsWith('parent ')) parents.push(line.slice(7));
    else if (line.startsWith('committer ')) time = Number(/ (\d+) [+-]\d{4}$/.exec(line)?.[1] ?? 0);
  }
  if (tree === undefined) throw new CorruptObjectError(oid, 'commit has no tree');
  return { oid, tree, parents, message, time };
}

/** The values of one trailer key in a commit message, in order. */
export function trailerValues(message: string, key: string): string[] {
  const prefix = `${key}: `;
  return message
    .split('\n')
    .filter((line) => line.startsWith(prefix))
    .map((line) => line.slice(prefix.length).trim());
}

export async function readCommit(objects: ObjectStore, oid: string): Promise<ParsedCommit> {
  return parseCommit(oid, await objects.readTyped(oid, 'commit'));
}
