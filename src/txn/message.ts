// The commit message of a transaction: a subject naming what was recorded, then trailers that
// tie the commit to its records (Lessons-Id) and to its journal entry (Lessons-Txid), which is
// how recovery and reindex find a transaction in history.

import type { RenderedRecord } from '../record/types.js';

/** How many record ids a commit message lists as trailers; the rest are counted. */
const MAX_ID_TRAILERS = 50;

export function commitMessage(
  records: readonly RenderedRecord[],
  txid: string,
  subject?: string,
): string {
  const first = records[0]!.record;
  const head =
    subject ??
    (records.length === 1
      ? `${first.kind}: ${first.kind === 'event' ? `${first.verb} ${first.target}` : first.title}`
      : `lessons: record ${records.length} records`);
  const trailers = records.slice(0, MAX_ID_TRAILERS).map((r) => `Lessons-Id: ${r.record.id}`);
  if (records.length > MAX_ID_TRAILERS) trailers.push(`Lessons-Count: ${records.length}`);
  // A person's override of the secret scan, in history for anyone to see: `<rule>` for a
  // record alone, `<rule> <id>` in a commit of many.
  for (const r of records)
    for (const rule of r.allowedSecrets ?? [])
      trailers.push(
        `Lessons-Allow-Secret: ${records.length === 1 ? rule : `${rule} ${r.record.id}`}`,
      );
  trailers.push(`Lessons-Txid: ${txid}`);
  return `${head}\n\n${trailers.join('\n')}\n`;
}
