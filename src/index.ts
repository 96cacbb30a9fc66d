// The public API of lessons. Everything a caller needs is re-exported from here.

export {
  openStore,
  Store,
  type OpenStoreOptions,
  type RecordManyOptions,
  type CleanupOptions,
  type CleanupReport,
  type LifecycleResult,
} from './store/store.js';
export type { EvidenceInput, UpdateInput, RetireInput } from './record/lifecycle.js';
export type { LifecycleEvent, EventVerb, EventChanges } from './record/event.js';
export { parseEvent, renderEvent } from './record/event.js';
export { foldRecord, posterior, goldenByFormula, type FoldedState } from './record/fold.js';
export type {
  GoldenOptions,
  ListOptions,
  RecordView,
  SearchHit,
  SearchOptions,
  SortOrder,
} from './query/reader.js';
export type { ContextDigest, ContextOptions } from './query/context.js';
export type { StoreStats } from './query/stats.js';
export type { Finding, FindingCode } from './maintenance/findings.js';
export type { VerifyOptions, VerifyReport } from './maintenance/verify.js';
export type { StoreVerifyOptions, StoreVerifyReport } from './store/store.js';
export type { IncomingProblem, RemoteStatus } from './sync/status.js';
export type { IndexOrigin } from './resources/index-db.js';
export type { OnProgress } from './util/progress.js';
export type { CleanupAction } from './maintenance/cleanup.js';
export type { ReindexResult } from './maintenance/reindex.js';
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
export { parseRecord, renderRecord } from './record/markdown.js';
export { recordPath } from './record/paths.js';
export { slugify } from './record/slug.js';
export type { RecoveryReport, RecoveryAction } from './txn/recovery.js';
export * from './errors/index.js';
export type { SyncOptions, SyncReport } from './sync/sync.js';
export type { IntegrateResult } from './sync/integrate.js';
export type { ConflictNote } from './resources/conflicts.js';
export { cloneStore, type CloneReport } from './sync/clone.js';
export { addRemote, listRemotes, removeRemote, type RemoteInfo } from './sync/remote.js';
