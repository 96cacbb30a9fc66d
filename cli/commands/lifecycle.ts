// Declarations of the lifecycle commands: validate, violate, promote, demote, update, retire,
// golden. Each change is one event file, row and commit (docs/lifecycle.md). Handlers load
// lazily.

import type { Argv } from 'yargs';
import type { Command, GlobalArgs } from '../output.js';
import { stringFlags as flags } from './record.js';

export interface RefArgs extends GlobalArgs {
  readonly ref?: string | undefined;
}

export interface EvidenceArgs extends RefArgs {
  readonly note?: string | undefined;
  readonly failure?: string | undefined;
}

export interface UpdateArgs extends RefArgs {
  readonly title?: string | undefined;
  readonly rule?: string | undefined;
  readonly summary?: string | undefined;
  readonly tags?: string | undefined;
  readonly severity?: string | undefined;
  readonly confidence?: string | undefined;
  readonly bodyFile?: string | undefined;
  readonly allowSecret?: string | undefined;
}

export interface RetireArgs extends RefArgs {
  readonly reason?: string | undefined;
  readonly supersededBy?: string | undefined;
}

export interface GoldenArgs extends GlobalArgs {
  readonly domain?: string | undefined;
}

const REF = 'a record id, a unique id prefix, a rowid or the record path';

function withRef<T>(yargs: Argv<T>): Argv<T> {
  return yargs.positional('ref', { type: 'string', describe: REF });
}

const handlers = async () => import('../handlers/lifecycle.js');

export const validateCommand: Command<GlobalArgs, EvidenceArgs> = {
  command: 'validate [ref]',
  describe: 'Report that a heuristic held (one event: file, row, commit)',
  builder: (yargs) =>
    flags(withRef(yargs), { note: 'what happened, one line' })
      .example('$0 validate 01JDX3QF --note "caught the bad migration in review"', '')
      .example('$0 --json validate heuristics/database/01JDX3QF...-back-up-first.md', ''),
  handler: async (argv) => (await handlers()).validate(argv),
};

export const violateCommand: Command<GlobalArgs, EvidenceArgs> = {
  command: 'violate [ref]',
  describe: 'Report that a heuristic did not hold, or that ignoring it caused a failure',
  builder: (yargs) =>
    flags(withRef(yargs), {
      note: 'what happened, one line',
      failure: 'the recorded failure it caused (id, prefix, rowid or path)',
    })
      .example('$0 violate 01JDX3QF --note "the backup was empty"', '')
      .example('$0 violate 01JDX3QF --failure 01JDX4AB', ''),
  handler: async (argv) => (await handlers()).violate(argv),
};

export const promoteCommand: Command<GlobalArgs, RefArgs> = {
  command: 'promote [ref]',
  describe: 'Make a heuristic a golden rule by hand (wins over the formula until a demote)',
  builder: (yargs) => withRef(yargs).example('$0 promote 01JDX3QF', ''),
  handler: async (argv) => (await handlers()).promote(argv),
};

export const demoteCommand: Command<GlobalArgs, RefArgs> = {
  command: 'demote [ref]',
  describe: 'Take golden away by hand (wins over the formula until a promote)',
  builder: (yargs) => withRef(yargs).example('$0 demote 01JDX3QF', ''),
  handler: async (argv) => (await handlers()).demote(argv),
};

export const updateCommand: Command<GlobalArgs, UpdateArgs> = {
  command: 'update [ref]',
  describe: 'Correct a record (an update event; the record file is never edited)',
  builder: (yargs) =>
    flags(withRef(yargs), {
      title: "a failure's new title",
      rule: "a heuristic's new rule",
      summary: 'the new Summary (failure) or Explanation (heuristic)',
      tags: 'the new tags, comma-separated (replace the old ones)',
      severity: "a failure's severity: 1-5, low, medium, high, critical",
      confidence: "a heuristic's confidence from now on: 0..1, low, medium, high",
      'body-file': 'the whole new body (Markdown); "-" reads stdin',
      'allow-secret': 'Store matches of this secret rule anyway (repeatable; see docs/secrets.md)',
    })
      .example('$0 update 01JDX3QF --rule "Back up and test the restore first"', '')
      .example('$0 update 01JDX4AB --severity critical --tags migrations,data-loss', '')
      .example('$0 update 01JDX4AB --body-file corrected.md', ''),
  handler: async (argv) => (await handlers()).update(argv),
};

export const retireCommand: Command<GlobalArgs, RetireArgs> = {
  command: 'retire [ref]',
  describe: 'Retire a record: kept in history and show, out of context, golden and lists',
  builder: (yargs) =>
    flags(withRef(yargs), {
      reason: 'why, one line',
      'superseded-by': 'the record that replaces it (id, prefix, rowid or path)',
    })
      .example('$0 retire 01JDX3QF --reason "the ORM does this now"', '')
      .example('$0 retire 01JDX3QF --superseded-by 01JDY0ZZ', ''),
  handler: async (argv) => (await handlers()).retire(argv),
};

export const goldenCommand: Command<GlobalArgs, GoldenArgs> = {
  command: 'golden',
  describe: 'List the golden rules, the most confident first',
  builder: (yargs) =>
    yargs
      .option('domain', { type: 'string', requiresArg: true, describe: 'only this domain' })
      .example('$0 golden --domain database', '')
      .example('$0 --json golden', ''),
  handler: async (argv) => (await handlers()).golden(argv),
};
