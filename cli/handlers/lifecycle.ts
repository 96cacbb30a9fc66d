// The lifecycle commands: resolve the record, store one event (file, row, commit), print the
// event and the record's state after it, or the golden rules.

import type { LifecycleResult } from '../../src/store/store.js';
import type {
  EvidenceArgs,
  GoldenArgs,
  RefArgs,
  RetireArgs,
  UpdateArgs,
} from '../commands/lifecycle.js';
import { stdoutColours } from '../colour.js';
import { lifecycleLine } from '../format.js';
import { Output } from '../output.js';
import { operand, readBodyFile, storeFrom } from './common.js';

function ref(args: RefArgs, command: string): string {
  return operand(args.ref, command, '<ref>', 'a record id, a unique id prefix, a rowid or a path');
}

function report(args: RefArgs, result: LifecycleResult): void {
  const c = stdoutColours();
  new Output(args).result(
    result,
    () =>
      `${result.verb}: ${result.record.title} (${c.yellow(result.target)})\n  now:    ${lifecycleLine(result.record)}\n  event:  ${result.path}\n  commit: ${result.commit}`,
  );
}

export async function validate(args: EvidenceArgs): Promise<void> {
  const target = ref(args, 'validate');
  const store = await storeFrom(args);
  report(args, await store.validate(target, { note: args.note }));
}

export async function violate(args: EvidenceArgs): Promise<void> {
  const target = ref(args, 'violate');
  const store = await storeFrom(args);
  report(args, await store.violate(target, { note: args.note, failure: args.failure }));
}

export async function promote(args: RefArgs): Promise<void> {
  const target = ref(args, 'promote');
  report(args, await (await storeFrom(args)).promote(target));
}

export async function demote(args: RefArgs): Promise<void> {
  const target = ref(args, 'demote');
  report(args, await (await storeFrom(args)).demote(target));
}

export async function update(args: UpdateArgs): Promise<void> {
  const target = ref(args, 'update');
  const body = readBodyFile('--body-file', args.bodyFile);
  const store = await storeFrom(args);
  report(
    args,
    await store.update(target, {
      title: args.title,
      rule: args.rule,
      summary: args.summary,
      tags: args.tags,
      severity: args.severity,
      confidence: args.confidence,
      body,
      allowSecrets: (args.allowSecret ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    }),
  );
}

export async function retire(args: RetireArgs): Promise<void> {
  const target = ref(args, 'retire');
  const store = await storeFrom(args);
  report(
    args,
    await store.retire(target, { reason: args.reason, supersededBy: args.supersededBy }),
  );
}

export async function golden(args: GoldenArgs): Promise<void> {
  const out = new Output(args);
  const store = await storeFrom(args);
  const records = await store.golden({ domain: args.domain });
  const c = stdoutColours();
  out.result({ ok: true, count: records.length, records }, () =>
    records.length === 0
      ? 'No golden rules yet.'
      : records
          .map((r) => `★ ${r.title}  [${r.domain}] ${c.yellow(r.id)}\n  ${lifecycleLine(r)}`)
          .join('\n'),
  );
}
