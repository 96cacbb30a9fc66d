// `lessons clone`, `lessons remote`, `lessons sync`, `lessons resolve`: run them and report.

import { UsageError } from '../../src/errors/index.js';
import { cloneStore } from '../../src/sync/clone.js';
import { addRemote, listRemotes, removeRemote } from '../../src/sync/remote.js';
import { resolveStoreDir } from '../../src/resources/layout.js';
import type { ConflictNote } from '../../src/resources/conflicts.js';
import { parseDuration } from '../../src/util/duration.js';
import type { CloneArgs, RemoteArgs, ResolveArgs, SyncArgs } from '../commands/sync.js';
import { Output, type Outcome } from '../output.js';
import { operand, storeFrom } from './common.js';

function conflictLines(conflicts: readonly ConflictNote[]): string {
  return conflicts
    .map(
      (c) =>
        `conflict ${c.id}: ${c.path} changed here and on ${c.remote}; kept the remote's version, the local one is ${c.otherBlob === null ? 'a removal' : `blob ${c.otherBlob}`} (commit ${c.localCommit.slice(0, 12)}). See docs/sync.md, then \`lessons resolve ${c.id}\`.`,
    )
    .join('\n');
}

export async function clone(args: CloneArgs): Promise<Outcome> {
  const out = new Output(args);
  const url = operand(args.url, 'clone', '<url>', 'the remote to clone');
  const report = await cloneStore(url, args.dir, {
    lockTimeoutMs:
      args.lockTimeout === undefined
        ? undefined
        : parseDuration('--lock-timeout', args.lockTimeout),
  });
  return out.outcome(report.ok, report, () =>
    report.ok
      ? `clone: ${report.dir} holds ${report.records} records from ${url}; verify is clean.`
      : `clone: ${report.dir} was cloned, but verify found ${report.verify.findings.length} problems:\n${report.verify.findings.map((f) => `  ${f.code} ${f.path ?? ''}: ${f.message}`).join('\n')}`,
  );
}

export async function remote(args: RemoteArgs): Promise<void> {
  const out = new Output(args);
  const dir = resolveStoreDir(args.dir);
  const action = args.action ?? 'list';
  if (action === 'list') {
    const remotes = await listRemotes(dir);
    out.result({ ok: true, remotes }, () =>
      remotes.length === 0
        ? 'No remotes. Add one with `lessons remote add origin <url>`.'
        : remotes.map((r) => `${r.name}\t${r.fetch}`).join('\n'),
    );
    return;
  }
  if (action === 'add') {
    const name = operand(args.name, 'remote add', '<name>', 'the remote name, for example origin');
    const url = operand(args.url, 'remote add', '<url>', 'a path, file://, ssh or https URL');
    const added = await addRemote(dir, name, url);
    out.result({ ok: true, remote: added }, `remote ${name} added: ${url}`);
    return;
  }
  if (action === 'remove') {
    const name = operand(args.name, 'remote remove', '<name>', 'the remote to remove');
    await removeRemote(dir, name);
    out.result({ ok: true, removed: name }, `remote ${name} removed.`);
    return;
  }
  throw new UsageError(
    'USAGE',
    `unknown remote action ${JSON.stringify(action)}: use list, add or remove. Run \`lessons remote --help\` for usage.`,
  );
}

export async function sync(args: SyncArgs): Promise<void> {
  const out = new Output(args);
  const store = await storeFrom(args);
  let report;
  try {
    report = await store.sync({ remote: args.remote });
  } finally {
    await store.close();
  }
  // Conflicts go to stderr whatever the output mode: a person must hear of them.
  if (report.conflicts.length > 0) process.stderr.write(`${conflictLines(report.conflicts)}\n`);
  out.result(report, () => {
    const brought = report.integrations
      .filter((i) => i.action !== 'up-to-date')
      .map(
        (i) =>
          `${i.action} to ${i.head.slice(0, 12)}: ${i.changed} path${i.changed === 1 ? '' : 's'} changed, ${i.rows.upserted} row${i.rows.upserted === 1 ? '' : 's'} in, ${i.rows.deleted} out`,
      );
    return `sync with ${report.remote}: ${brought.length === 0 ? 'nothing new from the remote' : brought.join('; ')}; ${
      report.pushed === report.head
        ? `the remote holds ${report.head?.slice(0, 12) ?? 'nothing'}`
        : 'pushed'
    }${report.attempts > 1 ? ` (after ${report.attempts} attempts: the remote moved)` : ''}.`;
  });
}

export async function resolve(args: ResolveArgs): Promise<void> {
  const out = new Output(args);
  const id = operand(args.conflict, 'resolve', '<conflict>', 'a conflict id, its path, or all');
  const store = await storeFrom(args);
  try {
    const resolved = await store.resolveConflict(id);
    out.result(
      { ok: true, resolved },
      `resolved ${resolved.length} conflict${resolved.length === 1 ? '' : 's'}: ${resolved.map((r) => r.path).join(', ')}`,
    );
  } finally {
    await store.close();
  }
}
