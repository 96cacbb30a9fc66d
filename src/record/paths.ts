// Where records live inside a store, relative to its root (always with `/`): the folders the
// tool writes records into, and the path of each record within them.

import { slugify } from './slug.js';
import type { LessonRecord } from './types.js';

/**
 * The folders that hold records and their lifecycle events (events/, record/event.ts); the
 * tool writes nowhere else but its own files.
 */
export const RECORD_ROOTS = ['failures', 'heuristics', 'events'] as const;

/** Is `path` (relative to the store) a record file? */
export function isRecordPath(path: string): boolean {
  return RECORD_ROOTS.some((root) => path.startsWith(`${root}/`)) && path.endsWith('.md');
}

/** Where a record lives in the store, relative to its root. */
export function recordPath(record: LessonRecord): string {
  const file = `${record.id}-${slugify(record.title)}.md`;
  if (record.kind === 'heuristic') return `heuristics/${record.domain}/${file}`;
  const year = record.created.slice(0, 4);
  const month = record.created.slice(5, 7);
  return `failures/${year}/${month}/${file}`;
}
