// How commands talk: one JSON object on stdout with --json, short human lines otherwise,
// errors on stderr. Nothing here decides exit codes; run.ts does, from the Outcome a handler
// returns (or the error it throws).

import type { ArgumentsCamelCase, CommandModule } from 'yargs';
import { writeErr, writeOut } from './stdio.js';

/** What a command handler returns: done (exit 0), or not done with its report printed (exit 1). */
export type Outcome = 'done' | 'not-done';

/** A command as declared in cli/commands/: yargs' own, with a handler that returns an Outcome. */
export type Command<T, U> = Omit<CommandModule<T, U>, 'handler'> & {
  readonly handler: (args: ArgumentsCamelCase<U>) => Promise<Outcome | void>;
};

export interface GlobalArgs {
  readonly dir?: string | undefined;
  readonly json?: boolean | undefined;
  readonly quiet?: boolean | undefined;
  readonly lockTimeout?: string | undefined;
}

export class Output {
  readonly json: boolean;
  readonly quiet: boolean;

  constructor(args: GlobalArgs) {
    this.json = args.json === true;
    this.quiet = args.quiet === true;
  }

  /** The command's result: the JSON object, or the human text unless --quiet. */
  result(value: object, human: string | (() => string)): void {
    if (this.json) writeOut(`${JSON.stringify(value)}\n`);
    else if (!this.quiet) writeOut(`${typeof human === 'string' ? human : human()}\n`);
  }

  /**
   * A result that is a failure (verify's findings, what cleanup could not repair): as
   * `result`, but under --quiet the report still goes to stderr, so cron mails it.
   */
  failure(value: object, human: () => string): void {
    if (this.quiet && !this.json) writeErr(`${human()}\n`);
    else this.result(value, human);
  }

  /** `result` when `ok`, else `failure`; the handler returns what this returns. */
  outcome(ok: boolean, value: object, human: () => string): Outcome {
    if (ok) this.result(value, human);
    else this.failure(value, human);
    return ok ? 'done' : 'not-done';
  }

  /** Progress and notes for people: stderr, never with --json or --quiet. */
  note(text: string): void {
    if (!this.json && !this.quiet) writeErr(`${text}\n`);
  }

  /** A line for a person at a terminal (`50 of 5,001 records`), as gh prints "Showing 30 of
   * 120": on stdout only when it is a terminal, so pipes and files get the records alone. */
  footer(text: string): void {
    if (!this.json && !this.quiet && process.stdout.isTTY === true)
      process.stdout.write(`${text}\n`);
  }

  /** True when progress may be drawn (a terminal, and not --json/--quiet). */
  get interactive(): boolean {
    return !this.json && !this.quiet && process.stderr.isTTY === true;
  }
}
