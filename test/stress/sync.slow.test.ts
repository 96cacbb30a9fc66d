// The reduced sync round of `npm run stress -- --sync`: three stores cloned from one bare
// remote, writers recording on each while `lessons sync` runs on it over and over, first
// untouched, then with syncs SIGKILLed at random moments. After a final sync round every store
// holds every record once (file, row, commit), verify and native git fsck are clean on every
// store and on the remote, and no merge conflicted.

import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { runSyncRound } from '../../stress/lib/sync.js';
import { tempDir } from '../helpers/store.js';

// Dozens of CLI processes and native git on a 2-core machine that may be busy with other work.
vi.setConfig({ testTimeout: 600_000 });

describe('the sync round', () => {
  it('3 stores, writers on each, a sync every 300 ms: every store holds all records', async () => {
    const report = await runSyncRound({
      dir: path.join(tempDir(), 'round'),
      stores: 3,
      writersPerStore: 4,
      recordsPerStore: 10,
      syncEveryMs: 300,
    });
    expect(report.problems).toEqual([]);
    expect(report.records).toBe(30);
    expect(report.syncs.runs).toBeGreaterThan(3);
    for (const store of report.perStore) {
      expect(store.records).toBe(31);
      expect(store.distinctIds).toBe(31);
      expect(store.audit.exit0Missing).toBe(0);
      expect(store.audit.inCommits).toBe(30);
      expect(store.verifyExit).toBe(0);
      expect(store.fsckClean).toBe(true);
      expect(store.conflictCommits).toBe(0);
    }
    expect(report.remoteFsckClean).toBe(true);
  });

  it('the same with 8 syncs killed by SIGKILL at random moments: nothing lost, nothing doubled', async () => {
    const report = await runSyncRound({
      dir: path.join(tempDir(), 'killed'),
      stores: 3,
      writersPerStore: 4,
      recordsPerStore: 10,
      syncEveryMs: 300,
      kills: 8,
      killWithinMs: 1200,
    });
    expect(report.problems).toEqual([]);
    expect(report.syncs.killed).toBeGreaterThanOrEqual(8);
    expect(report.records).toBeGreaterThanOrEqual(30);
    for (const store of report.perStore) {
      // Writers keep recording until the kills have landed: at least 10 per store.
      expect(store.records).toBe(1 + report.records);
      expect(store.distinctIds).toBe(1 + report.records);
      expect(store.audit.exit0Missing).toBe(0);
      expect(store.audit.halfPresent).toBe(0);
      expect(store.verifyExit).toBe(0);
      expect(store.fsckClean).toBe(true);
    }
    expect(report.finalRoundExits).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
