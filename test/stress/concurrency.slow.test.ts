// The reduced stress run inside `npm test`: 20 concurrent CLI writers with readers and
// maintenance beside them, a level where random writers are killed, and the naive baseline
// checked to lose what lessons keeps. `npm run stress` runs the full levels.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runLevel } from '../../stress/lib/level.js';
import { runNaiveLevel } from '../../stress/lib/naive.js';
import { consistencyProblems, tempDir, tempStore } from '../helpers/store.js';

describe('concurrent CLI writers', () => {
  it('20 writers, 2 records each: every one exits 0 and is in file, row and commit', async () => {
    const dir = tempStore();
    const level = await runLevel({ dir, writers: 20, recordsPerWriter: 2 });
    expect(level.audit.problems).toEqual([]);
    expect(level.runs).toBe(40);
    expect(level.audit.exit0).toBe(40);
    expect(level.audit.inFiles).toBe(40);
    expect(level.audit.inRows).toBe(40);
    expect(level.audit.inCommits).toBe(40);
    expect(level.audit.orphans).toBe(0);
    expect(level.audit.rowidZero).toBe(0);
    for (const load of [level.readers, level.verifyDuringLoad, level.cleanupDuringLoad])
      expect(load?.notes ?? []).toEqual([]);
    if (level.verifyExit !== undefined) expect(level.verifyExit).toBe(0);
    expect(consistencyProblems(dir)).toEqual([]);
    // Every waiter left the line, and no lock or staging directory is left behind.
    expect(fs.readdirSync(path.join(dir, '.lessons', 'lock.d'))).toEqual([]);
    expect(fs.existsSync(path.join(dir, '.lessons', 'lock'))).toBe(false);
  });

  it('with random writers killed, recovery leaves no half record and loses no exit-0 record', async () => {
    const dir = tempStore();
    const level = await runLevel({ dir, writers: 10, recordsPerWriter: 3, killRate: 0.3 });
    expect(level.audit.problems).toEqual([]);
    expect(level.audit.killed).toBeGreaterThan(0);
    expect(level.audit.exit0 + level.audit.killed).toBe(level.runs);
    expect(level.audit.halfPresent).toBe(0);
    expect(level.audit.exit0Missing).toBe(0);
    expect(level.audit.inCommits).toBe(level.audit.inRows);
    expect(consistencyProblems(dir)).toEqual([]);
  });
});

describe('the naive baseline under the same load', () => {
  it('is audited by the same questions, and every record it reports is accounted for', async () => {
    const report = await runNaiveLevel(`${tempDir()}/naive`, 10);
    expect(report.runs).toBe(10);
    // Each writer wrote its file before anything could fail; what happened next varies by run.
    expect(report.inFiles).toBe(10);
    expect(report.exit0).toBeLessThanOrEqual(report.inCommits);
  });
});
