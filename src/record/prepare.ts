// Caller input to records ready for a transaction: validated, scanned for secrets and rendered,
// with no I/O, so that a refusal (exit 2) has touched nothing, not even a store that does not
// exist yet.

import { InvalidInputError } from '../errors/index.js';
import { prepareRecord } from './markdown.js';
import { refuseSecrets, rowTexts, type RowTexts } from './secrets.js';
import type { LessonRecord, RecordInput, RenderedRecord } from './types.js';
import { validateRecord } from './validate.js';
import type { OnProgress } from '../util/progress.js';

export interface PreparedInputs {
  /** The validated records, in the order of the inputs. */
  readonly records: readonly LessonRecord[];
  /** Render records[i] (or a corrected copy of it) with what its input allowed and pinned. */
  readonly render: (record: LessonRecord, i: number) => RenderedRecord;
}

export interface PrepareOptions {
  readonly now: Date;
  /** Name fields `records[i].<field>` in messages (a batch), not `<field>`. */
  readonly many: boolean;
  readonly onProgress?: OnProgress | undefined;
}

/** Validate every input and refuse secrets (InvalidInputError, SecretDetectedError: exit 2). */
export async function prepareInputs(
  inputs: readonly RecordInput[],
  options: PrepareOptions,
): Promise<PreparedInputs> {
  const { many, onProgress } = options;
  const records = inputs.map((input, i) => {
    try {
      return validateRecord(input, options.now);
    } catch (error) {
      throw error instanceof InvalidInputError && many ? error.within(`records[${i}]`) : error;
    }
  });
  // Each row's texts, as verify will read them, are scanned too: clean ones are marked so
  // (record_scans) and verify does not scan them again.
  const texts = records.map(rowTexts);
  const { overridden: allowed, marks } = await refuseSecrets(inputs, many, texts);
  return {
    records,
    render: (record, i) => {
      onProgress?.(i, records.length, 'preparing');
      // A date the caller gave (an import) is kept; other ids follow the store's order.
      const pinned = inputs[i]!.created !== undefined || inputs[i]!.importedFrom !== undefined;
      return {
        ...prepareRecord(record),
        ...(allowed[i]!.length === 0 ? {} : { allowedSecrets: allowed[i]! }),
        // A mark vouches for the texts scanned: not for a copy whose texts differ (a source
        // id prefix the store resolved to the full id).
        ...(marks[i] === undefined ||
        (record !== records[i] && !sameTexts(rowTexts(record), texts[i]!))
          ? {}
          : { scanned: marks[i] }),
        ...(pinned ? { pinnedDate: true } : {}),
      };
    },
  };
}

function sameTexts(a: RowTexts, b: RowTexts): boolean {
  return (Object.keys(a) as (keyof RowTexts)[]).every((key) => a[key] === b[key]);
}
