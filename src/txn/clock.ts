// Ids stay in commit order within a store, whatever the writers' clocks say. Under the writers'
// lock, a record whose id (minted from its writer's clock) is not after the newest record
// already at HEAD gets a new one just after it, and is rendered again (its `created`, and for a
// failure its month folder, follow the id). Records whose date the caller gave (imports) keep
// it. See docs/transactions.md for what a clock far ahead does.

import { prepareItem } from '../record/stored.js';
import type { RenderedRecord } from '../record/types.js';
import type { WriteContext } from '../participants/types.js';
import { clockId, idAfter, idTime } from '../record/ids.js';

/** The newest id of a record dated by a writer's clock (imports aside) or of an event, from the index of HEAD. */
export function newestClockId(ctx: WriteContext): string | undefined {
  // Events too: the fold reads them in id order, so a later event must have a later id.
  const row = ctx.db.db
    .prepare(
      `SELECT max(id) AS id FROM (
         SELECT (SELECT id FROM records WHERE imported_from IS NULL ORDER BY id DESC LIMIT 1) AS id
         UNION ALL SELECT (SELECT id FROM events ORDER BY id DESC LIMIT 1))`,
    )
    .get() as { id: string | null } | undefined;
  return row?.id ?? undefined;
}

/** `records`, each with an id after the newest at HEAD and after the one before it. */
export function monotonicRecords(
  ctx: WriteContext,
  records: readonly RenderedRecord[],
): readonly RenderedRecord[] {
  let floor = newestClockId(ctx);
  if (floor === undefined) return records;
  let changed = false;
  const out = records.map((rendered) => {
    if (rendered.pinnedDate === true) return rendered;
    const { record } = rendered;
    if (record.id > floor!) {
      floor = record.id;
      return rendered;
    }
    const id = idAfter(floor!, Date.parse(record.created));
    floor = id;
    changed = true;
    return {
      ...rendered,
      ...prepareItem({ ...record, id, created: new Date(idTime(id)).toISOString() }),
    };
  });
  return changed ? out : records;
}

/**
 * `records` under new ids from this writer's clock, rendered again: for a group member trying
 * once more after its group rolled back, so that nothing the failed group left for recovery to
 * undo (an entry marked aborted) can ever share a path with what it writes now.
 */
export function freshIds(records: readonly RenderedRecord[]): RenderedRecord[] {
  return records.map((rendered) => {
    if (rendered.pinnedDate === true) return rendered;
    const id = clockId(Date.now());
    return {
      ...rendered,
      ...prepareItem({ ...rendered.record, id, created: new Date(idTime(id)).toISOString() }),
    };
  });
}
