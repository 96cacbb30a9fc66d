// Records and lifecycle events, the two things a transaction writes, dispatched by kind (when
// rendering) or by folder (when parsing a file of the store).

import { isEventPath, parseEvent, prepareEvent } from './event.js';
import { parseRecord, prepareRecord } from './markdown.js';
import type { RenderedRecord, StoredItem } from './types.js';

/** Render a record or an event with everything the participants need about its file. */
export function prepareItem(item: StoredItem): RenderedRecord {
  return item.kind === 'event' ? prepareEvent(item) : prepareRecord(item);
}

/** Parse the file at `path` (relative to the store): an event under events/, else a record. */
export function parseItem(path: string, content: string | Uint8Array): StoredItem {
  return isEventPath(path) ? parseEvent(content) : parseRecord(content);
}
