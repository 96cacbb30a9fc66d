// `lessons import-elf`: run the import and print its report.

import { importElf, type KindCounts } from '../../src/import/elf.js';
import type { ImportElfArgs } from '../commands/import-elf.js';
import { Output, type Outcome } from '../output.js';
import { progress } from '../progress.js';
import { operand, storeFrom } from './common.js';

function line(name: string, c: KindCounts): string {
  return `${name}: ${c.imported} (joined file and row ${c.joined}, file only ${c.fileOnly}, row only ${c.rowOnly})`;
}

export async function importElfHandler(args: ImportElfArgs): Promise<Outcome> {
  const out = new Output(args);
  const source = operand(args.source, 'import-elf', '<source>', "the framework's memory/ folder");
  const store = await storeFrom(args);
  const bar = progress(out, 'import');
  try {
    const report = await importElf(store, source, {
      dryRun: args.dryRun === true,
      includeBackups: args.includeBackups === true,
      allowSecrets: (args.allowSecret ?? []).flatMap((r) => r.split(',')).filter((r) => r !== ''),
      onProgress: bar.update,
    }).finally(() => bar.stop());
    return out.outcome(report.ok, report, () =>
      [
        `${report.dryRun ? 'import-elf --dry-run (nothing written)' : 'import-elf'}: ${report.source}`,
        line('failures', report.failures),
        line('heuristics', report.heuristics),
        `already imported: ${report.alreadyImported}`,
        ...report.unmodelled.map(
          (u) =>
            `not modelled by lessons: ${u.count} ${u.type} entries (${u.paths.slice(0, 3).join(', ')}${u.count > 3 ? ', ...' : ''})`,
        ),
        ...report.skipped.map((s) => `skipped ${s.path}: ${s.reason}`),
        ...report.unparseable.map((u) => `could not parse ${u.path}: ${u.reason}`),
        ...report.secrets.map(
          (e) =>
            `not imported, it holds a secret: ${e.key}: ${e.findings.map((f) => `${f.kind} (rule ${f.rule}) in ${f.field} line ${f.line}: ${f.masked}`).join('; ')}`,
        ),
        report.normalised.length === 0
          ? ''
          : `normalised (originals kept in imported_from.original): ${report.normalised.length} entries`,
        report.commit === null ? '' : `commit: ${report.commit}`,
      ]
        .filter((l) => l !== '')
        .join('\n'),
    );
  } finally {
    await store.close();
  }
}
