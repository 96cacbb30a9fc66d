// The audit after a run of writers: does every store agree, is every exit-0 record present in
// all three, and is no record of a killed or failed writer half there?

import { consistencyProblems, storeState } from '../../test/helpers/inspect.js';
import type { WriterOutcome } from '../../test/helpers/writers.js';

export interface AuditReport {
  readonly writers: number;
  readonly exit0: number;
  readonly killed: number;
  /** Writers whose record is in the work tree / in SQLite / in HEAD. */
  readonly inFiles: number;
  readonly inRows: number;
  readonly inCommits: number;
  /** Files or rows that HEAD does not hold, and HEAD records without a row. */
  readonly orphans: number;
  readonly exit0Missing: number;
  readonly rowidZero: number;
  /** Records present in some stores but not all. */
  readonly halfPresent: number;
  /** Records stored although their writer exited non-zero without being killed. */
  readonly storedDespiteFailure: number;
  readonly problems: readonly string[];
}

export function auditStore(dir: string, outcomes: readonly WriterOutcome[]): AuditReport {
  const state = storeState(dir);
  const problems = [...consistencyProblems(dir)];
  const rowsByTitle = new Map(state.rows.map((r) => [r.title, r]));
  const treePaths = new Set(Object.keys(state.tree));
  const filePaths = new Set(Object.keys(state.files));
  const rowPaths = new Set(state.rows.map((r) => r.path));

  const orphans =
    [...filePaths].filter((p) => !treePaths.has(p)).length +
    [...rowPaths].filter((p) => !treePaths.has(p)).length +
    [...treePaths].filter((p) => !rowPaths.has(p)).length;

  let exit0 = 0;
  let killed = 0;
  let inFiles = 0;
  let inRows = 0;
  let inCommits = 0;
  let exit0Missing = 0;
  let rowidZero = 0;
  let halfPresent = 0;
  let storedDespiteFailure = 0;
  for (const outcome of outcomes) {
    const title = outcome.spec.title;
    const row = rowsByTitle.get(title);
    // Paths of records are derived from ids, so find the writer's path through its row or output.
    const recordPath = row?.path ?? outcome.json?.path;
    const file = recordPath !== undefined && filePaths.has(recordPath);
    const commit = recordPath !== undefined && treePaths.has(recordPath);
    if (file) inFiles++;
    if (row !== undefined) inRows++;
    if (commit) inCommits++;
    const all = file && row !== undefined && commit;
    const none = !file && row === undefined && !commit;
    if (!all && !none) {
      halfPresent++;
      problems.push(
        `half present: ${title} (file ${file}, row ${row !== undefined}, commit ${commit})`,
      );
    }
    if (outcome.signal === 'SIGKILL') killed++;
    if (outcome.code === 0) {
      exit0++;
      if (!all || outcome.json?.id === undefined || row?.id !== outcome.json.id) {
        exit0Missing++;
        problems.push(`exit 0 but missing: ${title}`);
      }
      if (!(Number(outcome.json?.rowid) > 0)) rowidZero++;
    } else if (outcome.signal === null && !none) {
      storedDespiteFailure++;
      problems.push(`stored although the writer exited ${outcome.code}: ${title}`);
    }
  }
  if (orphans > 0) problems.push(`${orphans} orphan files or rows`);
  return {
    writers: outcomes.length,
    exit0,
    killed,
    inFiles,
    inRows,
    inCommits,
    orphans,
    exit0Missing,
    rowidZero,
    halfPresent,
    storedDespiteFailure,
    problems,
  };
}
