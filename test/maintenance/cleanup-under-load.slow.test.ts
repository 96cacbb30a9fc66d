// cleanup and verify in loops while 50 CLI writers record: every writer exits 0, every record
// is present, and nothing of a transaction in flight is quarantined, even with no grace period.

import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runLevel } from '../../stress/lib/level.js';
import { consistencyProblems, tempStore } from '../helpers/store.js';

it('cleanup --grace 0s in a loop beside 50 writers quarantines nothing and loses nothing', async () => {
  const dir = tempStore();
  const level = await runLevel({ dir, writers: 50, readers: 0, maintenance: true });
  expect(level.audit.problems).toEqual([]);
  expect(level.audit.exit0).toBe(50);
  expect(level.audit.inFiles).toBe(50);
  expect(level.audit.inRows).toBe(50);
  expect(level.audit.inCommits).toBe(50);
  expect(level.cleanupDuringLoad?.runs).toBeGreaterThan(0);
  expect(level.cleanupDuringLoad?.notes).toEqual([]);
  expect(level.verifyDuringLoad?.notes).toEqual([]);
  expect(level.verifyExit).toBe(0);
  expect(fs.existsSync(path.join(dir, '.lessons', 'quarantine'))).toBe(false);
  expect(consistencyProblems(dir)).toEqual([]);
});
