// `npx tsx stress/import-bench.ts [entries]`: generate a memory directory of the shell-script
// framework (default 10,000 entries), import it into a fresh store, report the time.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importElf } from '../src/import/elf.js';
import { openStore } from '../src/index.js';
import { generateElfMemory } from './lib/elf-generate.js';

const entries = Number(process.argv[2] ?? 10_000);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lessons-import-bench-'));
try {
  const source = path.join(work, 'memory');
  generateElfMemory(source, entries);
  const store = await openStore({ dir: path.join(work, 'store') });
  const started = performance.now();
  const report = await importElf(store, source);
  const seconds = (performance.now() - started) / 1000;
  const records = report.failures.imported + report.heuristics.imported;
  await store.close();
  console.log(
    `import-elf: ${records} records from ${entries} generated entries in ${seconds.toFixed(2)} s (${(records / seconds).toFixed(0)} records/s), one commit ${report.commit?.slice(0, 12)}`,
  );
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
