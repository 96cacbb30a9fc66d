// import-elf of 5,001 entries on a terminal: the progress bar moves during the long phases
// (preparing, writing files, indexing rows, packing objects), not 0 then 5001 after seconds of
// nothing; and nothing of it reaches stdout or a pipe.

import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { generateElfMemory } from '../../stress/lib/elf-generate.js';
import { consistencyProblems, lessons, readRows, tempDir, tempStore } from '../helpers/store.js';
import { inTerminal, lessonsCommand } from '../helpers/tty.js';

/**
 * Every `<phase> [...] n/total` frame drawn, as [phase, n, total]. The total is 5001 while the
 * entries are prepared, and grows by the lifecycle events the entries carry once they are written.
 */
function frames(screen: string): [string, number, number][] {
  const plain = screen.replace(/\u001b(\[[0-9;?]*[A-Za-z]|\d)/g, '');
  return [...plain.matchAll(/import ([a-z ]+?) ?\[[^\]]*\] (\d+)\/(\d+)/g)].map((m) => [
    m[1]!,
    Number(m[2]),
    Number(m[3]),
  ]);
}

it('shows import progress of 5,001 entries during the long phases, on a terminal only', async () => {
  const source = path.join(tempDir(), 'memory');
  generateElfMemory(source, 5001);
  const dir = tempStore();
  const out = path.join(tempDir(), 'out.txt');
  const { screen, code } = inTerminal(
    `${lessonsCommand(['--dir', dir, 'import-elf', source])} > ${out}`,
  );
  expect(code).toBe(0);
  const drawn = frames(screen);
  const phases = new Set(drawn.map(([phase]) => phase));
  for (const phase of ['preparing', 'writing files', 'indexing rows'])
    expect(phases).toContain(phase);
  // Counts strictly between 0 and the total were drawn: the bar moved while the work ran.
  expect(drawn.filter(([, n, total]) => n > 0 && n < total).length).toBeGreaterThan(3);
  expect(drawn.every(([, , total]) => total >= 5001)).toBe(true);
  expect(screen).toMatch(/\r?\n$/);
  expect(fs.readFileSync(out, 'utf8')).toMatch(/^import-elf: /);
  expect(fs.readFileSync(out, 'utf8')).not.toContain('\u001b');
  expect(readRows(dir)).toHaveLength(5001);
  expect(consistencyProblems(dir)).toEqual([]);

  // Piped: no progress at all.
  const again = tempStore();
  const piped = await lessons(['--dir', again, 'import-elf', source]);
  expect(piped.code).toBe(0);
  expect(piped.stderr).toBe('');
});
