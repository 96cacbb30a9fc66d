// A heuristic names the failure it came from by id or unique prefix (`--source-id`). The name is
// resolved under the writers' lock, so the answer cannot change before the commit, against the
// store and the failures of the same batch, and the full id is what is written. A dangling,
// ambiguous or wrong-kind name is invalid input (exit 2): nothing of the batch is written.

import fs from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '../errors/index.js';
import type { WriteContext } from '../participants/types.js';
import type { HeuristicRecord, LessonRecord } from '../record/types.js';
import type { StoreLayout } from '../resources/layout.js';

function named(record: LessonRecord): record is HeuristicRecord & { sourceId: string } {
  return record.kind === 'heuristic' && record.sourceId !== undefined;
}

/** Does any record name a source failure that must be resolved under the lock? */
export function namesSources(records: readonly LessonRecord[]): boolean {
  return records.some(named);
}

function sourceField(index: number, count: number): string {
  return count === 1 ? 'sourceId' : `records[${index}].sourceId`;
}

function dangling(record: HeuristicRecord, index: number, count: number): InvalidInputError {
  return new InvalidInputError(
    sourceField(index, count),
    `${JSON.stringify(record.sourceId)} names no failure in the store`,
    'Pass the id of a recorded failure (`lessons list --kind failure` shows them), or leave it out.',
  );
}

/**
 * Before the lock: a store without a commit holds no failure, so a batch naming one that is not
 * in the batch itself is refused before anything (even the store) is created.
 */
export function refuseSourcesOfEmptyStore(
  layout: StoreLayout,
  records: readonly LessonRecord[],
): void {
  const first = records.findIndex(named);
  if (first < 0 || records.some((r) => r.kind === 'failure')) return;
  if (!fs.existsSync(path.join(layout.gitdir, 'HEAD')))
    throw dangling(records[first] as HeuristicRecord, first, records.length);
}

/** `records` with every source id resolved to the full id of the one failure it names. */
export function resolveSources(
  ctx: WriteContext,
  records: readonly LessonRecord[],
): LessonRecord[] {
  const batchFailures = records.filter((r) => r.kind === 'failure').map((r) => r.id);
  return records.map((record, i) =>
    named(record)
      ? { ...record, sourceId: resolveOne(ctx, record, batchFailures, i, records.length) }
      : record,
  );
}

function resolveOne(
  ctx: WriteContext,
  record: HeuristicRecord & { sourceId: string },
  batchFailures: readonly string[],
  index: number,
  count: number,
): string {
  const prefix = record.sourceId;
  const rows = ctx.db.db
    .prepare(
      "SELECT id, kind FROM records WHERE id >= @p AND id < @p || 'ZZZZZZZZZZZZZZZZZZZZZZZZZZ' ORDER BY id LIMIT 11",
    )
    .all({ p: prefix }) as { id: string; kind: string }[];
  const matches = [
    ...rows.filter((r) => r.id.startsWith(prefix)),
    ...batchFailures.filter((id) => id.startsWith(prefix)).map((id) => ({ id, kind: 'failure' })),
  ];
  if (matches.length === 0) throw dangling(record, index, count);
  const failures = matches.filter((m) => m.kind === 'failure');
  if (failures.length === 0)
    throw new InvalidInputError(
      sourceField(index, count),
      `${JSON.stringify(prefix)} names a heuristic (${matches[0]!.id}), not a failure`,
      'A heuristic comes from a failure: pass the id of one, or leave it out.',
    );
  if (failures.length > 1)
    throw new InvalidInputError(
      sourceField(index, count),
      `${JSON.stringify(prefix)} matches ${failures.length > 10 ? 'more than 10' : failures.length} failures (${failures
        .slice(0, 3)
        .map((f) => f.id)
        .join(', ')}${failures.length > 3 ? ', ...' : ''})`,
      'Give more characters of the id.',
    );
  return failures[0]!.id;
}
