// Two clones of one store (native `git clone`), each validating the same heuristic 10 times
// at once from CLI writers, merged with native `git pull --no-rebase` and `lessons reindex`:
// every event is a new file with a unique name, so the merge has no conflict, the counts add
// up to 20 and verify is clean.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runLessons } from '../helpers/writers.js';
import { consistencyProblems, git, tempDir } from '../helpers/store.js';

describe('validations in two clones', () => {
  it('merge without a conflict and add up after reindex', async () => {
    const root = tempDir();
    const origin = path.join(root, 'origin');
    const seed = await runLessons([
      '--dir',
      origin,
      '--json',
      'record-heuristic',
      '--domain',
      'db',
      '--rule',
      'Back up first',
    ]);
    expect(seed.code).toBe(0);
    const id = (JSON.parse(seed.stdout) as { id: string }).id;
    const clones = ['a', 'b'].map((name) => path.join(root, name));
    for (const clone of clones) git(root, 'clone', '-q', '--branch', 'main', origin, clone);

    const writers = clones.flatMap((clone) =>
      Array.from({ length: 10 }, (_, i) =>
        runLessons(['--dir', clone, '--json', 'validate', id, '--note', `run ${i}`]),
      ),
    );
    const outcomes = await Promise.all(writers);
    for (const o of outcomes) expect(o.code, o.stderr).toBe(0);
    for (const clone of clones) {
      const shown = await runLessons(['--dir', clone, '--json', 'show', id]);
      expect(JSON.parse(shown.stdout)).toMatchObject({ record: { validations: 10 } });
    }

    const [a, b] = clones as [string, string];
    git(a, 'pull', '-q', '--no-rebase', '--no-edit', b, 'main');
    expect(git(a, 'status', '--porcelain')).toBe('');
    expect(git(a, 'ls-files', '-u')).toBe(''); // no unmerged path
    const reindex = await runLessons(['--dir', a, '--json', 'reindex']);
    expect(reindex.code, reindex.stderr).toBe(0);
    const shown = await runLessons(['--dir', a, '--json', 'show', id]);
    const record = (JSON.parse(shown.stdout) as { record: Record<string, unknown> }).record;
    expect(record).toMatchObject({ validations: 20, violations: 0, golden: true });
    // (2 * 0.7 + 20) / 22
    expect(record.confidence).toBeCloseTo(21.4 / 22, 12);
    const verify = await runLessons(['--dir', a, '--json', 'verify']);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, findings: [] });
    expect(consistencyProblems(a)).toEqual([]);
  }, 300_000);
});
