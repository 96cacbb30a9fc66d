import { StoreError } from './StoreError.js';

/** The file is not a record this tool can read. */
export class RecordParseError extends StoreError {
  constructor(reason: string) {
    super('RECORD_UNPARSEABLE', `not a lessons record: ${reason}`);
  }
}
