// `lessons recover`: run recovery under the writers' lock and report what it did.

import type { RecoveryAction } from '../../src/txn/recovery.js';
import { Output, type GlobalArgs } from '../output.js';
import { storeFrom } from './common.js';

function describe(action: RecoveryAction): string {
  const what = action.records.map((r) => `    ${r.id}  ${r.path}`).join('\n');
  return `${action.action} ${action.txid}: ${action.reason}${what === '' ? '' : `\n${what}`}`;
}

export async function recover(args: GlobalArgs): Promise<void> {
  const out = new Output(args);
  const store = await storeFrom(args);
  try {
    const report = await store.recover();
    const done = report.actions.filter((a) => a.action !== 'skipped');
    out.result({ ok: true, recovered: report.actions }, () =>
      report.actions.length === 0
        ? 'Nothing to recover: no transaction was left in flight.'
        : `${done.length} transaction${done.length === 1 ? '' : 's'} recovered.\n${report.actions.map(describe).join('\n')}`,
    );
  } finally {
    await store.close();
  }
}
