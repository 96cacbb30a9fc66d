// `lessons verify`, `lessons cleanup`, `lessons reindex`: run them and report, grouped by
// finding code for people, as one JSON object with --json.

import fs from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '../../src/errors/index.js';
import type { Finding } from '../../src/maintenance/findings.js';
import { junitReport } from '../../src/maintenance/junit.js';
import type { StoreVerifyReport } from '../../src/store/store.js';
import { parseDuration } from '../../src/util/duration.js';
import type { CleanupArgs, VerifyArgs } from '../commands/maintenance.js';
import { Output, type GlobalArgs, type Outcome } from '../output.js';
import { stdoutColours, type Colours } from '../colour.js';
import { progress } from '../progress.js';
import { storeFrom } from './common.js';

function grouped(findings: readonly Finding[], c: Colours): string {
  const groups = new Map<string, Finding[]>();
  for (const f of findings) groups.set(f.code, [...(groups.get(f.code) ?? []), f]);
  return [...groups]
    .map(
      ([code, list]) =>
        `${c.bold(c.red(code))} (${list.length})\n${list
          .slice(0, 20)
          .map((f) => `  ${f.path ?? ''}${f.id === undefined ? '' : `  ${f.id}`}\n    ${f.message}`)
          .join(
            '\n',
          )}${list.length > 20 ? `\n  ... and ${list.length - 20} more` : ''}\n  ${c.green('fix:')} ${list[0]!.hint}`,
    )
    .join('\n');
}

/** With --remote: where the store stands against the remote's main. */
function remoteNote(report: StoreVerifyReport): string {
  const r = report.remote;
  if (r === undefined || r.unreachable !== undefined) return '';
  const commits = (n: number): string => `${n} commit${n === 1 ? '' : 's'}`;
  const where =
    r.ahead === 0 && r.behind === 0
      ? 'up to date with'
      : [
          r.ahead > 0 ? `${commits(r.ahead)} ahead of` : '',
          r.behind > 0 ? `${commits(r.behind)} behind` : '',
        ]
          .filter((s) => s !== '')
          .join(', ');
  return `remote ${r.remote}: ${where} its main${r.fetched === null ? ' (it has none yet)' : ` (${r.fetched.slice(0, 12)})`}${r.behind > 0 ? `; a sync brings ${r.incoming} file${r.incoming === 1 ? '' : 's'}` : ''}.`;
}

/** What verify checked the rows against, when it was not simply index.db. */
function indexNote(report: StoreVerifyReport): string {
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

export async function verify(args: VerifyArgs): Promise<Outcome> {
  const out = new Output(args);
  const c = stdoutColours();
  const store = await storeFrom(args);
  const started = performance.now();
  const bar = progress(out, 'verify');
  let report: StoreVerifyReport;
  try {
    report = await store.verify({
      deep: args.deep === true,
      remote: args.remote,
      onProgress: bar.update,
    });
  } finally {
    bar.stop();
    await store.close();
  }
  const seconds = (performance.now() - started) / 1000;
  if (args.junit !== undefined) writeReport(args.junit, junitReport(report, seconds));
  return out.outcome(report.ok, report, () =>
    [
      report.ok
        ? `verify: ${c.green('clean')}. ${report.records} records agree in git, index.db and the files${report.deep ? ' (deep)' : ''}.`
        : `verify: ${c.red(`${report.findings.length} finding${report.findings.length === 1 ? '' : 's'}`)} in ${report.store}\n${grouped(report.findings, c)}`,
      remoteNote(report),
      indexNote(report),
    ]
      .filter((l) => l !== '')
      .join('\n'),
  );
}

/** Write a report file, creating its folder (CI passes reports/<name>.xml before it exists). */
function writeReport(file: string, content: string): void {
  try {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    fs.writeFileSync(file, content);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'an error';
    throw new InvalidInputError(
      '--junit',
      `${JSON.stringify(file)} cannot be written (${code})`,
      'Pass a path in a writable folder, for example --junit reports/lessons-verify.xml.',
    );
  }
}

export async function cleanup(args: CleanupArgs): Promise<Outcome> {
  const out = new Output(args);
  const c = stdoutColours();
  const graceMs = args.grace === undefined ? undefined : parseDuration('--grace', args.grace);
  const store = await storeFrom(args);
  const bar = progress(out, 'cleanup');
  let report;
  try {
    report = await store.cleanup({
      dryRun: args.dryRun === true,
      graceMs,
      deep: args.deep === true,
      onProgress: bar.update,
    });
  } finally {
    bar.stop();
    await store.close();
  }
  return out.outcome(report.ok, report, () => {
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
        : `\nnot repaired:\n${grouped(report.remaining, c)}`;
    return `${head}${lines.length === 0 ? '' : `\n${lines.join('\n')}`}${where}${left}`;
  });
}

export async function reindex(args: GlobalArgs): Promise<void> {
  const out = new Output(args);
  const store = await storeFrom(args);
  const bar = progress(out, 'reindex');
  const started = performance.now();
  let result;
  try {
    result = await store.reindex({ onProgress: bar.update });
  } finally {
    bar.stop();
    await store.close();
  }
  const seconds = (performance.now() - started) / 1000;
  out.result({ ok: true, ...result, seconds }, () => {
    const bad = result.unparseable.map((u) => `\n  unparseable: ${u.path}: ${u.reason}`).join('');
    return `reindex: ${result.rows} rows rebuilt from ${result.head ?? 'an empty history'} in ${seconds.toFixed(1)} s.${bad}`;
  });
}
