// `lessons verify`, `lessons cleanup`, `lessons reindex`: run them and report, grouped by
// finding code for people, as one JSON object with --json.

import fs from 'node:fs';
import type { Finding } from '../../src/maintenance/findings.js';
import { junitReport } from '../../src/maintenance/junit.js';
import type { VerifyReport } from '../../src/maintenance/verify.js';
import { parseDuration } from '../../src/util/duration.js';
import type { CleanupArgs, VerifyArgs } from '../commands/maintenance.js';
import { Output, type GlobalArgs } from '../output.js';
import { storeFrom } from './common.js';

/** A progress line on a terminal; nothing under --json, --quiet or without a TTY. */
function progress(out: Output, label: string): ((done: number, total: number) => void) | undefined {
  if (!out.interactive) return undefined;
  return (done, total) => {
    process.stderr.write(`\r${label} ${done}/${total}${done === total ? '\n' : ''}`);
  };
}

function grouped(findings: readonly Finding[]): string {
  const groups = new Map<string, Finding[]>();
  for (const f of findings) groups.set(f.code, [...(groups.get(f.code) ?? []), f]);
  return [...groups]
    .map(
      ([code, list]) =>
        `${code} (${list.length})\n${list
          .slice(0, 20)
          .map((f) => `  ${f.path ?? ''}${f.id === undefined ? '' : `  ${f.id}`}\n    ${f.message}`)
          .join(
            '\n',
          )}${list.length > 20 ? `\n  ... and ${list.length - 20} more` : ''}\n  fix: ${list[0]!.hint}`,
    )
    .join('\n');
}

/** What verify checked the rows against, when it was not simply index.db. */
function indexNote(report: VerifyReport): string {
  const notes: string[] = [];
  if (report.index === 'built' || report.index === 'memory')
    notes.push(
      `index.db was missing (a fresh clone?): built from HEAD${report.index === 'memory' ? ' in memory' : ''} first.`,
    );
  if (report.readOnly)
    notes.push(
      report.index === 'copy'
        ? 'read-only store: index.db was checked through a private copy; nothing was written.'
        : 'read-only store: nothing was written.',
    );
  if (report.readOnly && !report.ok)
    notes.push('The fixes above write: run them on a writable checkout of the store.');
  return notes.join('\n');
}

export async function verify(args: VerifyArgs): Promise<void> {
  const out = new Output(args);
  const store = await storeFrom(args);
  const started = performance.now();
  const report = await store.verify({
    deep: args.deep === true,
    onProgress: progress(out, 'verifying'),
  });
  const seconds = (performance.now() - started) / 1000;
  if (args.junit !== undefined) fs.writeFileSync(args.junit, junitReport(report, seconds));
  out.result(report, () =>
    [
      report.ok
        ? `verify: clean. ${report.records} records agree in git, index.db and the files${report.deep ? ' (deep)' : ''}.`
        : `verify: ${report.findings.length} finding${report.findings.length === 1 ? '' : 's'} in ${report.store}\n${grouped(report.findings)}`,
      indexNote(report),
    ]
      .filter((l) => l !== '')
      .join('\n'),
  );
  await store.close();
  if (!report.ok) process.exitCode = 1;
}

export async function cleanup(args: CleanupArgs): Promise<void> {
  const out = new Output(args);
  const graceMs = args.grace === undefined ? undefined : parseDuration('--grace', args.grace);
  const store = await storeFrom(args);
  try {
    const report = await store.cleanup({
      dryRun: args.dryRun === true,
      graceMs,
      deep: args.deep === true,
      onProgress: progress(out, 'surveying'),
    });
    out.result(report, () => {
      const lines = report.actions.map(
        (a) => `  ${a.verb.padEnd(18)} ${a.path ?? ''}  (${a.code}: ${a.detail})`,
      );
      const recovered = report.recovered.filter((r) => r.action !== 'skipped');
      const head = report.dryRun
        ? `cleanup --dry-run: ${report.actions.length} action${report.actions.length === 1 ? '' : 's'} planned, nothing changed.`
        : `cleanup: ${report.actions.length} action${report.actions.length === 1 ? '' : 's'}, ${recovered.length} transaction${recovered.length === 1 ? '' : 's'} recovered.`;
      const where = report.quarantine === null ? '' : `\nquarantine: ${report.quarantine}`;
      const left =
        report.dryRun || report.remaining.length === 0
          ? ''
          : `\nnot repaired:\n${grouped(report.remaining)}`;
      return `${head}${lines.length === 0 ? '' : `\n${lines.join('\n')}`}${where}${left}`;
    });
    if (!report.ok && !report.dryRun) process.exitCode = 1;
  } finally {
    await store.close();
  }
}

export async function reindex(args: GlobalArgs): Promise<void> {
  const out = new Output(args);
  const store = await storeFrom(args);
  try {
    const started = performance.now();
    const result = await store.reindex({ onProgress: progress(out, 'reading') });
    const seconds = (performance.now() - started) / 1000;
    out.result({ ok: true, ...result, seconds }, () => {
      const bad = result.unparseable.map((u) => `\n  unparseable: ${u.path}: ${u.reason}`).join('');
      return `reindex: ${result.rows} rows rebuilt from ${result.head ?? 'an empty history'} in ${seconds.toFixed(1)} s.${bad}`;
    });
  } finally {
    await store.close();
  }
}
