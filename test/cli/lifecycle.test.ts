// The lifecycle through the command line, as the done-when of issue 17 says: a heuristic
// validated 6 times and violated once, golden by the formula, falling back, promote and
// demote overriding it; update and retire; each step checked in file, row and commit.

import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { EVENT_VERBS } from '../../src/record/event.js';
import { consistencyProblems, git, lessons, tempStore, tempDir } from '../helpers/store.js';

interface Step {
  readonly id: string;
  readonly path: string;
  readonly commit: string;
  readonly record: {
    confidence: number;
    validations: number;
    violations: number;
    golden: boolean;
    retired: boolean;
    title: string;
  };
}

function row(dir: string, id: string): Record<string, unknown> {
  const db = new BetterSqlite3(path.join(dir, 'index.db'), { readonly: true });
  try {
    return db
      .prepare(
        'SELECT title, confidence, validations, violations, golden, retired, retired_reason FROM records WHERE id = ?',
      )
      .get(id) as Record<string, unknown>;
  } finally {
    db.close();
  }
}

function eventRow(dir: string, id: string): Record<string, unknown> | undefined {
  const db = new BetterSqlite3(path.join(dir, 'index.db'), { readonly: true });
  try {
    return db.prepare('SELECT verb, target, path, commit_oid FROM events WHERE id = ?').get(id) as
      Record<string, unknown> | undefined;
  } finally {
    db.close();
  }
}

/** `lessons --dir <dir> --json ...args` */
function cli(dir: string, args: readonly string[]): ReturnType<typeof lessons> {
  return lessons(['--dir', dir, '--json', ...args]);
}

/** Run a lifecycle command; check its event in the file, the row and the commit. */
async function step(dir: string, args: string[], target: string, subject: string): Promise<Step> {
  const result = await cli(dir, [...args]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const out = result.json as unknown as Step;
  const verb = args[0]!;
  const file = fs.readFileSync(path.join(dir, out.path), 'utf8');
  expect(file).toContain(`verb: ${verb}\ntarget: ${target}\n`);
  expect(out.path).toMatch(new RegExp(`^events/\\d{4}/\\d{2}/${out.id}-${verb}\\.md$`));
  expect(eventRow(dir, out.id)).toEqual({
    verb,
    target,
    path: out.path,
    commit_oid: out.commit,
  });
  expect(git(dir, 'rev-parse', 'HEAD').trim()).toBe(out.commit);
  const message = git(dir, 'log', '-1', '--format=%B');
  expect(message).toContain(`${verb}: ${subject}\n`);
  expect(message).toContain(`Lessons-Id: ${out.id}`);
  expect(git(dir, 'show', '--name-only', '--format=', 'HEAD').trim()).toBe(out.path);
  const r = row(dir, target);
  expect(r).toMatchObject({
    confidence: out.record.confidence,
    validations: out.record.validations,
    violations: out.record.violations,
    golden: out.record.golden ? 1 : 0,
  });
  return out;
}

describe('lessons validate / violate / promote / demote', () => {
  it('folds the documented confidence, turns golden, falls back and obeys promote/demote', async () => {
    const dir = tempStore();
    const rec = await cli(dir, [
      'record-heuristic',
      '--domain',
      'database',
      '--rule',
      'Back up before migrating',
      '--confidence',
      '0.5',
    ]);
    expect(rec.code).toBe(0);
    const id = rec.json!.id as string;
    const rule = 'Back up before migrating';
    let last: Step | undefined;
    for (let i = 0; i < 6; i++)
      last = await step(dir, ['validate', id.slice(0, 12), '--note', `held ${i}`], id, rule);
    // (2*0.5 + 6) / (2 + 6) = 0.875, 6 validations, share 1: golden.
    expect(last!.record).toMatchObject({ validations: 6, violations: 0, golden: true });
    expect(last!.record.confidence).toBeCloseTo(0.875, 12);
    last = await step(dir, ['violate', id, '--note', 'it failed once'], id, rule);
    // (1 + 6) / (2 + 6 + 1) = 7/9 = 0.78 < 0.8: golden falls back.
    expect(last.record.confidence).toBeCloseTo(7 / 9, 12);
    expect(last.record).toMatchObject({ validations: 6, violations: 1, golden: false });
    last = await step(dir, ['validate', id], id, rule);
    // 8/10 = 0.8, 7 validations of 8 = 0.875: golden again.
    expect(last.record).toMatchObject({ validations: 7, violations: 1, golden: true });
    last = await step(dir, ['violate', id], id, rule);
    expect(last.record.golden).toBe(false);
    last = await step(dir, ['promote', id], id, rule);
    expect(last.record.golden).toBe(true);
    last = await step(dir, ['validate', id], id, rule);
    expect(last.record.golden).toBe(true);
    last = await step(dir, ['demote', id], id, rule);
    expect(last.record.golden).toBe(false);
    for (let i = 0; i < 5; i++) last = await step(dir, ['validate', id], id, rule);
    expect(last.record).toMatchObject({ validations: 13, violations: 2, golden: false });

    const golden = await cli(dir, ['golden']);
    expect(golden.json).toMatchObject({ ok: true, count: 0 });
    await step(dir, ['promote', id], id, rule);
    const again = await cli(dir, ['golden', '--domain', 'database']);
    expect((again.json!.records as { id: string }[]).map((r) => r.id)).toEqual([id]);
    const context = await lessons(['--dir', dir, 'context', '--domain', 'database']);
    expect(context.stdout).toContain('## Golden rules');
    const shown = await cli(dir, ['show', id]);
    expect(shown.json!.record).toMatchObject({
      validations: 13,
      violations: 2,
      golden: true,
      retired: false,
    });
    const verify = await cli(dir, ['verify']);
    expect(verify.json).toMatchObject({ ok: true, findings: [] });
    expect(consistencyProblems(dir)).toEqual([]);
  }, 120_000);

  it('refuses to validate a failure (exit 2 naming ref) and touches nothing', async () => {
    const dir = tempStore();
    const rec = await cli(dir, ['record-failure', '--domain', 'ci', '--title', 'Flaky']);
    const head = git(dir, 'rev-parse', 'HEAD');
    const result = await cli(dir, ['validate', rec.json!.id as string]);
    expect(result.code).toBe(2);
    expect(result.json).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    expect(
      (result.json!.error as { data?: { field?: string } }).data?.field ?? result.stdout,
    ).toContain('ref');
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(head);
    expect(fs.existsSync(path.join(dir, 'events'))).toBe(false);
    const none = await cli(dir, ['update', rec.json!.id as string]);
    expect(none.code).toBe(2);
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(head);
  });
});

describe('lessons update / retire', () => {
  it('corrects a record (search and list show the correction) and retires it out of the defaults', async () => {
    const dir = tempStore();
    const rec = await cli(dir, [
      'record-failure',
      '--domain',
      'ci',
      '--title',
      'Flaky test',
      '--summary',
      'It flaked',
      '--tags',
      'ci',
    ]);
    const id = rec.json!.id as string;
    const body = path.join(tempDir(), 'body.md');
    fs.writeFileSync(body, '# Flaky test\n\n## Summary\n\nA race on the port\n');
    const updated = await step(
      dir,
      [
        'update',
        id,
        '--title',
        'Port race in the integration test',
        '--severity',
        'critical',
        '--body-file',
        body,
      ],
      id,
      'Flaky test',
    );
    expect(updated.record.title).toBe('Port race in the integration test');
    expect(fs.readFileSync(path.join(dir, rec.json!.path as string), 'utf8')).toContain(
      'title: Flaky test',
    );
    const found = await cli(dir, ['search', 'race']);
    expect((found.json!.hits as { record: { id: string } }[]).map((h) => h.record.id)).toEqual([
      id,
    ]);
    const shown = await cli(dir, ['show', id]);
    expect(shown.json!.record).toMatchObject({
      severity: 5,
      title: 'Port race in the integration test',
    });
    expect((shown.json!.record as { body: string }).body).toContain(
      '# Port race in the integration test\n',
    );

    const retired = await step(
      dir,
      ['retire', id, '--reason', 'fixed upstream'],
      id,
      'Port race in the integration test',
    );
    expect(retired.record.retired).toBe(true);
    expect(row(dir, id)).toMatchObject({ retired: 1, retired_reason: 'fixed upstream' });
    const list = await cli(dir, ['list']);
    expect(list.json).toMatchObject({ count: 0 });
    const all = await cli(dir, ['list', '--all']);
    expect(all.json).toMatchObject({ count: 1 });
    const search = await cli(dir, ['search', 'race']);
    expect(search.json).toMatchObject({ count: 0 });
    const context = await cli(dir, ['context']);
    expect(context.json).toMatchObject({ included: { failures: 0 } });

    const reindex = await cli(dir, ['reindex']);
    expect(reindex.code).toBe(0);
    expect(row(dir, id)).toMatchObject({ retired: 1, title: 'Port race in the integration test' });
    expect((await cli(dir, ['verify'])).json).toMatchObject({ ok: true });
    expect(consistencyProblems(dir)).toEqual([]);
  }, 120_000);

  it('refuses an update holding a secret (exit 2, SECRET_DETECTED) and stores nothing', async () => {
    const dir = tempStore();
    const rec = await cli(dir, ['record-failure', '--domain', 'ci', '--title', 'Leak']);
    const head = git(dir, 'rev-parse', 'HEAD');
    const secret = ['ghp_', 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'].join('');
    const result = await cli(dir, ['update', rec.json!.id as string, '--summary', `key ${secret}`]);
    expect(result.code).toBe(2);
    expect(result.json).toMatchObject({ ok: false, error: { code: 'SECRET_DETECTED' } });
    expect(result.stdout + result.stderr).not.toContain(secret);
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(head);
  });

  it('shows examples in --help of every lifecycle command', async () => {
    for (const command of [...EVENT_VERBS, 'golden']) {
      const help = await lessons([command, '--help']);
      expect(help.code, command).toBe(0);
      expect(help.stdout, command).toContain('Examples:');
    }
  });
});
