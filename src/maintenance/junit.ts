// A JUnit XML report of a verify run, the format CI dashboards read: one test case per check
// family, a failure element per finding.

import { FINDING_HINTS, type Finding, type FindingCode } from './findings.js';
import type { VerifyReport } from './verify.js';

function escape(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

export function junitReport(report: VerifyReport, seconds: number): string {
  const byCode = new Map<FindingCode, Finding[]>();
  for (const f of report.findings) byCode.set(f.code, [...(byCode.get(f.code) ?? []), f]);
  const cases = (Object.keys(FINDING_HINTS) as FindingCode[]).map((code) => {
    const found = byCode.get(code) ?? [];
    const failures = found
      .map(
        (f) =>
          `      <failure type="${code}" message="${escape(f.message)}">${escape(
            `${f.path ?? ''}${f.id === undefined ? '' : ` (${f.id})`}\n${f.message}\nfix: ${f.hint}`,
          )}</failure>`,
      )
      .join('\n');
    return found.length === 0
      ? `    <testcase classname="lessons.verify" name="${code}"/>`
      : `    <testcase classname="lessons.verify" name="${code}">\n${failures}\n    </testcase>`;
  });
  const failed = [...byCode.values()].filter((f) => f.length > 0).length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="lessons verify" tests="${cases.length}" failures="${failed}" time="${seconds.toFixed(3)}">`,
    `  <testsuite name="${escape(report.store)}" tests="${cases.length}" failures="${failed}" errors="0" time="${seconds.toFixed(3)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
