// The two kinds of record, as callers give them (inputs) and as they are stored (records).

import type { LifecycleEvent } from './event.js';

export type RecordKind = 'failure' | 'heuristic';

export const HEURISTIC_SOURCES = ['failure', 'success', 'observation', 'debugging'] as const;
export type HeuristicSource = (typeof HEURISTIC_SOURCES)[number];

/** Fields every input may carry. */
interface CommonInput {
  /** Short tags such as `migrations`; an array or a comma-separated string. At most 20. */
  readonly tags?: readonly string[] | string | undefined;
  /** Free Markdown appended after the generated sections. At most 50,000 characters. */
  readonly body?: string | undefined;
  /** When the lesson was learnt; an importer keeps the original date. @default now */
  readonly created?: string | Date | undefined;
  /** Where an imported record came from; kept verbatim in the front matter. */
  readonly importedFrom?: Readonly<Record<string, unknown>> | undefined;
  /**
   * Secret rules (by name: `aws`, `jwt`, ... see docs/secrets.md) whose matches in this record
   * are not secrets and may be stored. Recorded as `Lessons-Allow-Secret` commit trailers.
   * @default []
   */
  readonly allowSecrets?: readonly string[] | undefined;
}

export interface FailureInput extends CommonInput {
  /** One line naming what went wrong. 1..500 characters. */
  readonly title: string;
  /** Area of work, `[a-z0-9_-]`, 1..100 characters (lowercased). */
  readonly domain: string;
  /** 1..5, or low (2), medium (3), high (4), critical (5). @default 3 */
  readonly severity?: number | string | undefined;
  readonly summary?: string | undefined;
  readonly whatHappened?: string | undefined;
  readonly rootCause?: string | undefined;
  readonly impact?: string | undefined;
  readonly prevention?: string | undefined;
}

export interface HeuristicInput extends CommonInput {
  /** The rule itself, one line. 1..500 characters. */
  readonly rule: string;
  /** Area of work, `[a-z0-9_-]`, 1..100 characters (lowercased). */
  readonly domain: string;
  readonly explanation?: string | undefined;
  /** How the rule was learnt. @default 'observation' */
  readonly source?: string | undefined;
  /** 0..1, or low (0.3), medium (0.6), high (0.85). @default 0.7 */
  readonly confidence?: number | string | undefined;
  /** The id of the failure this rule came from. */
  readonly sourceId?: string | undefined;
}

export type RecordInput =
  ({ readonly kind: 'failure' } & FailureInput) | ({ readonly kind: 'heuristic' } & HeuristicInput);

interface RecordBase {
  /** ULID: time-sortable and globally unique. */
  readonly id: string;
  readonly title: string;
  readonly domain: string;
  readonly tags: readonly string[];
  /** ISO 8601 UTC with milliseconds. */
  readonly created: string;
  /** The Markdown after the front matter, heading included. */
  readonly body: string;
  readonly importedFrom?: Readonly<Record<string, unknown>>;
}

export interface FailureRecord extends RecordBase {
  readonly kind: 'failure';
  readonly severity: number;
}

export interface HeuristicRecord extends RecordBase {
  readonly kind: 'heuristic';
  readonly source: HeuristicSource;
  readonly confidence: number;
  readonly sourceId?: string;
}

export type LessonRecord = FailureRecord | HeuristicRecord;

/** What a transaction writes: a record, or a lifecycle event about one (record/event.ts). */
export type StoredItem = LessonRecord | LifecycleEvent;

/** A record rendered to its file: what every participant of a transaction works from. */
export interface RenderedRecord {
  readonly record: StoredItem;
  /** Path relative to the store, always with `/`. */
  readonly path: string;
  /** The exact bytes of the file. */
  readonly content: Buffer;
  /** git blob id of `content`. */
  readonly blobOid: string;
  /** sha256 of `content`, hex. */
  readonly sha256: string;
  /** Secret rules a person overrode for this record (commit trailers). */
  readonly allowedSecrets?: readonly string[];
  /** The caller gave the date (an import): the id keeps it, even if earlier than the store's newest. */
  readonly pinnedDate?: boolean;
  /** The secret scan's fingerprint, when the row's texts passed it clean (record_scans). */
  readonly scanned?: string;
}

/** What a successful record reports. */
export interface RecordResult {
  readonly ok: true;
  readonly id: string;
  readonly rowid: number;
  readonly kind: RecordKind | 'event';
  readonly path: string;
  readonly commit: string;
}
