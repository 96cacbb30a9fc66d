// The public API of lessons. Everything a caller needs is re-exported from here.

export { openStore, Store, type OpenStoreOptions, type RecordManyOptions } from './store/store.js';
export type {
  FailureInput,
  HeuristicInput,
  RecordInput,
  RecordResult,
  LessonRecord,
  FailureRecord,
  HeuristicRecord,
  RecordKind,
  HeuristicSource,
} from './record/types.js';
export { parseRecord, renderRecord, recordPath } from './record/markdown.js';
export { slugify } from './record/slug.js';
export type { RecoveryReport, RecoveryAction } from './txn/recovery.js';
export * from './errors/index.js';
