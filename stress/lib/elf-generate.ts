// A generated memory directory of the shell-script framework, for import tests and benchmarks:
// failure files in the bold-field format, heuristics as `## H-<n>:` sections per domain, and an
// index.db whose rows describe half the failures (and a few entries with no file at all).

import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';

export interface GeneratedElf {
  readonly failures: number;
  readonly heuristics: number;
  /** Failure rows that name an existing file. */
  readonly joinedFailures: number;
  /** Failure rows with no file. */
  readonly rowOnlyFailures: number;
}

export function generateElfMemory(dir: string, entries: number): GeneratedElf {
  const failures = Math.floor(entries * 0.8);
  const heuristics = entries - failures;
  const domains = ['infra', 'database', 'ci', 'frontend', 'agents'];
  fs.mkdirSync(path.join(dir, 'failures'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'heuristics'), { recursive: true });
  const db = new BetterSqlite3(path.join(dir, 'index.db'));
  db.exec(`CREATE TABLE learnings (id INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, filepath TEXT NOT NULL,
             title TEXT NOT NULL, summary TEXT, tags TEXT, domain TEXT, severity INTEGER DEFAULT 1,
             created_at DATETIME DEFAULT CURRENT_TIMESTAMP);
           CREATE TABLE heuristics (id INTEGER PRIMARY KEY AUTOINCREMENT, domain TEXT NOT NULL, rule TEXT NOT NULL,
             explanation TEXT, source_type TEXT, source_id INTEGER, confidence REAL DEFAULT 0.5,
             created_at DATETIME DEFAULT CURRENT_TIMESTAMP);`);
  const learn = db.prepare(
    'INSERT INTO learnings (type, filepath, title, summary, tags, domain, severity, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const rule = db.prepare(
    'INSERT INTO heuristics (domain, rule, explanation, source_type, confidence, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  let joinedFailures = 0;
  let rowOnlyFailures = 0;
  db.transaction(() => {
    for (let i = 0; i < failures; i++) {
      const domain = domains[i % domains.length]!;
      const title = `Generated failure ${i} in ${domain}`;
      const name = `20251201_generated-failure-${i}.md`;
      const rowOnly = i % 50 === 49;
      if (!rowOnly)
        fs.writeFileSync(
          path.join(dir, 'failures', name),
          `# ${title}\n\n**Domain**: ${domain}\n**Severity**: ${(i % 5) + 1}\n**Tags**: gen,t${i % 7}\n**Date**: 2025-12-01\n\n## Summary\n\nWhat went wrong, number ${i}.\n`,
        );
      if (i % 2 === 0 || rowOnly) {
        learn.run(
          'failure',
          `memory/failures/${name}`,
          title,
          `summary ${i}`,
          `gen,t${i % 7}`,
          domain,
          (i % 5) + 1,
          '2025-12-01 10:00:00',
        );
        if (rowOnly) rowOnlyFailures++;
        else joinedFailures++;
      }
    }
    for (const domain of domains) {
      const sections: string[] = [`# Heuristics: ${domain}\n`];
      for (let i = domains.indexOf(domain); i < heuristics; i += domains.length) {
        const text = `Generated rule ${i} for ${domain}`;
        sections.push(
          `## H-${i}: ${text}\n\n**Confidence**: 0.${(i % 9) + 1}\n**Source**: observation\n**Created**: 2025-12-02\n\nBecause ${i}.\n\n---\n`,
        );
        if (i % 3 === 0)
          rule.run(domain, text, `Because ${i}.`, 'observation', 0.5, '2025-12-02 10:00:00');
      }
      fs.writeFileSync(path.join(dir, 'heuristics', `${domain}.md`), sections.join('\n'));
    }
  })();
  db.close();
  return { failures, heuristics, joinedFailures, rowOnlyFailures };
}
