// The one base class for every error the library throws on purpose. Callers branch on `code`
// (stable strings), never on message text; `exitCode` is what the command line maps it to.

/** What the command line exits with for an error of this class. */
export type ExitCode = 1 | 2 | 3 | 70;

import type { ErrorCode } from './codes.js';

export interface LessonsErrorOptions {
  /** Structured facts about the failure, shown in `--json` output. */
  readonly data?: Readonly<Record<string, unknown>>;
  /** The error this one explains. */
  readonly cause?: unknown;
}

export abstract class LessonsError extends Error {
  /** A stable machine-readable code, such as `LOCK_TIMEOUT`. */
  abstract readonly code: ErrorCode;
  /** 1: not done, 2: invalid input or usage, 3: the store is busy, 70: a bug (EX_SOFTWARE). */
  abstract readonly exitCode: ExitCode;
  readonly data: Readonly<Record<string, unknown>>;

  constructor(message: string, options: LessonsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.data = options.data ?? {};
  }

  toJSON(): { code: ErrorCode; message: string; data?: Readonly<Record<string, unknown>> } {
    return Object.keys(this.data).length === 0
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}
