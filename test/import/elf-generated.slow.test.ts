// import-elf on a generated directory of 10,000 entries: one transaction, every record stored.
// Its time is measured by `npx tsx stress/import-bench.ts`, not asserted here.

import path from 'node:path';
import { expect, it } from 'vitest';
import { importElf } from '../../src/import/elf.js';
import { openStore } from '../../src/index.js';
import { generateElfMemory } from '../../stress/lib/elf-generate.js';
import { consistencyProblems, git, readRows, tempDir, tempStore } from '../helpers/store.js';

it(
  'imports 10,000 generated entries in one commit, joined where file and row agree',
  { timeout: 300_000 },
  async () => {
    const source = path.join(tempDir(), 'memory');
    const made = generateElfMemory(source, 10_000);
    const dir = tempStore();
    const store = await openStore({ dir });
    const report = await importElf(store, source);
    await store.close();
    expect(report.failures.imported).toBe(made.failures);
    expect(report.failures.joined).toBe(made.joinedFailures);
    expect(report.failures.rowOnly).toBe(made.rowOnlyFailures);
    expect(report.heuristics.imported).toBe(made.heuristics);
    expect(readRows(dir)).toHaveLength(10_000);
    expect(git(dir, 'rev-list', '--count', 'HEAD').trim()).toBe('2');
    expect(consistencyProblems(dir)).toEqual([]);
  },
);
