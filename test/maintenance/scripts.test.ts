// The operational scripts call the real commands: the CI script, the cron line, the systemd
// service and the CI workflow files are run here against real stores (and fresh shallow
// clones of them, as CI checks out), with `lessons` on PATH pointing at this build.

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { openStore } from '../../src/index.js';
import { BIN, consistencyProblems, git, ROOT, tempDir, tempStore } from '../helpers/store.js';

/** A PATH whose `lessons` is this checkout's build. */
function pathWithLessons(): string {
  const bin = tempDir();
  const shim = path.join(bin, 'lessons');
  fs.writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${BIN.lessons}" "$@"\n`);
  fs.chmodSync(shim, 0o755);
  return `${bin}:${process.env.PATH ?? ''}`;
}

async function storeWithOneRecord(): Promise<string> {
  const dir = tempStore();
  const store = await openStore({ dir });
  await store.recordFailure({ title: 'Scheduled job overlapped', domain: 'ops' });
  await store.close();
  return dir;
}

function sh(
  command: string,
  env: NodeJS.ProcessEnv,
  cwd?: string,
): { status: number | null; out: string; stdout: string; stderr: string } {
  const result = spawnSync('bash', ['-c', command], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    ...(cwd === undefined ? {} : { cwd }),
  });
  return {
    status: result.status,
    out: result.stdout + result.stderr,
    stdout: result.stdout,
    stderr: result.stderr,
  };
}

const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8');

/** A shallow clone over git's pack transport, as actions/checkout and GitLab make. */
function checkout(store: string, detached: boolean): string {
  const work = path.join(tempDir(), 'checkout');
  git(path.dirname(work), 'clone', '-q', '--depth', '1', `file://${store}`, work);
  if (detached) {
    // A pull request's job: a detached commit and no local main branch.
    git(work, 'checkout', '-q', '--detach');
    git(work, 'branch', '-q', '-D', 'main');
  }
  return work;
}

describe('scripts/', () => {
  it('ci/verify.sh passes a clean store, fails a damaged one, and leaves a JUnit report', async () => {
    const dir = await storeWithOneRecord();
    const report = path.join(tempDir(), 'reports', 'verify.xml');
    const env = { PATH: pathWithLessons() };
    const script = path.join(ROOT, 'scripts/ci/verify.sh');
    const clean = sh(`${script} ${dir} ${report}`, env);
    expect(clean.status).toBe(0);
    expect(fs.readFileSync(report, 'utf8')).toContain('failures="0"');

    fs.writeFileSync(path.join(dir, 'failures', 'stray.md'), 'not a record\n');
    const dirty = sh(`${script} ${dir} ${report}`, env);
    expect(dirty.status).toBe(1);
    expect(dirty.out).toContain('FILE_UNTRACKED');
    expect(fs.readFileSync(report, 'utf8')).toContain('<failure type="FILE_UNTRACKED"');
  });

  it('ci/verify.sh exits 2, as its header promises, when lessons is not on PATH', async () => {
    const dir = await storeWithOneRecord();
    const run = sh(`${path.join(ROOT, 'scripts/ci/verify.sh')} ${dir} ${tempDir()}/r.xml`, {
      PATH: '/usr/bin:/bin',
    });
    expect(run.status).toBe(2);
    expect(run.out).toContain('not on PATH');
  });

  it('the cron line mails what its comment says: nothing when clean, the report when not', async () => {
    const cron = read('scripts/cron/lessons-cleanup.crontab');
    const command = /^\*\/5 \* \* \* \* (.+)$/m.exec(cron)![1]!;
    // Output is not sent to a log: cron mails it to MAILTO, as the comment says.
    expect(command).not.toMatch(/>|2>&1/);
    expect(cron).toMatch(/^MAILTO=/m);
    expect(cron).toMatch(/cron mails/);

    const clean = await storeWithOneRecord();
    const quiet = sh(command, { PATH: pathWithLessons(), LESSONS_DIR: clean });
    expect([quiet.status, quiet.out]).toEqual([0, '']);

    // Something cleanup cannot repair: the commit HEAD points to is unreadable.
    const broken = await storeWithOneRecord();
    const head = git(broken, 'rev-parse', 'HEAD').trim();
    const object = path.join(broken, '.git', 'objects', head.slice(0, 2), head.slice(2));
    fs.chmodSync(object, 0o644);
    fs.writeFileSync(object, 'not a git object');
    const loud = sh(command, { PATH: pathWithLessons(), LESSONS_DIR: broken });
    expect(loud.status).not.toBe(0);
    expect(loud.stdout).toBe('');
    expect(loud.stderr).not.toBe('');
  });

  it('the systemd service names its user and working directory, as its comment says', () => {
    const service = read('scripts/systemd/lessons-cleanup.service');
    const directives = new Map(
      [...service.matchAll(/^([A-Za-z]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!] as const),
    );
    expect(directives.get('User')).toMatch(/^(?!root$)\w+/);
    expect(directives.get('WorkingDirectory')).toMatch(/^\//);
    const comments = service.split('\n').filter((l) => l.startsWith('#'));
    const named = comments.flatMap((l) =>
      [...l.matchAll(/\b([A-Z][A-Za-z]+)=/g)].map((m) => m[1]!),
    );
    expect(named).toEqual(expect.arrayContaining(['User', 'WorkingDirectory']));
    for (const name of named)
      expect(directives.has(name), `${name}= is named in a comment`).toBe(true);
  });

  it('the cron line and the systemd service run a real cleanup', async () => {
    const cron = read('scripts/cron/lessons-cleanup.crontab');
    const cronCommand = /^\*\/5 \* \* \* \* (.+)$/m.exec(cron)![1]!;
    const service = fs.readFileSync(
      path.join(ROOT, 'scripts/systemd/lessons-cleanup.service'),
      'utf8',
    );
    const execStart = /^ExecStart=(.+)$/m.exec(service)![1]!;
    expect(
      fs.readFileSync(path.join(ROOT, 'scripts/systemd/lessons-cleanup.timer'), 'utf8'),
    ).toMatch(/^OnUnitActiveSec=5min$/m);

    for (const command of [cronCommand, execStart]) {
      const dir = await storeWithOneRecord();
      fs.rmSync(path.join(dir, '.git', 'index'));
      const run = sh(command, { PATH: pathWithLessons(), LESSONS_DIR: dir }, tempDir());
      expect(run.status).toBe(0);
      expect(consistencyProblems(dir)).toEqual([]);
    }
  });
});

describe('the sync schedule', () => {
  it('the cron line and the systemd service run a real sync: quiet when it went through', async () => {
    const cronCommand = /^\*\/5 \* \* \* \* (.+)$/m.exec(
      read('scripts/cron/lessons-sync.crontab'),
    )![1]!;
    expect(cronCommand).not.toMatch(/>|2>&1/);
    const execStart = /^ExecStart=(.+)$/m.exec(read('scripts/systemd/lessons-sync.service'))![1]!;
    expect(read('scripts/systemd/lessons-sync.timer')).toMatch(/^OnUnitActiveSec=5min$/m);

    for (const command of [cronCommand, execStart]) {
      const remote = path.join(tempDir(), 'team.git');
      git(path.dirname(remote), 'init', '--quiet', '--bare', '--initial-branch=main', remote);
      const dir = await storeWithOneRecord();
      git(dir, 'remote', 'add', 'origin', remote);
      const run = sh(command, { PATH: pathWithLessons(), LESSONS_DIR: dir }, tempDir());
      expect(run.status, run.out).toBe(0);
      if (command === cronCommand) expect(run.out).toBe('');
      // What the store holds is on the remote now, and the store is sound.
      expect(git(remote, 'rev-parse', 'main').trim()).toBe(git(dir, 'rev-parse', 'main').trim());
      expect(consistencyProblems(dir)).toEqual([]);

      // Unreachable remote: non-zero, and the report on stderr for cron's mail.
      git(dir, 'remote', 'set-url', 'origin', path.join(tempDir(), 'gone.git'));
      const failed = sh(command, { PATH: pathWithLessons(), LESSONS_DIR: dir }, tempDir());
      expect(failed.status).toBe(1);
      expect(failed.stdout).toBe('');
      expect(failed.stderr).toContain('could not fetch from origin');
    }
  });
});

describe('the CI workflow files', () => {
  /** The commands of each workflow that verify (its install step is this build, on PATH). */
  function workflows(): { name: string; env: Record<string, string>; commands: string[] }[] {
    const github = YAML.parse(read('scripts/ci/github-actions.yml')) as {
      jobs: Record<string, { env: Record<string, string>; steps: { id?: string; run?: string }[] }>;
    };
    const job = github.jobs.verify!;
    const gitlab = YAML.parse(read('scripts/ci/gitlab-ci.yml')) as Record<
      string,
      { variables: Record<string, string>; before_script: string[]; script: string[] }
    >;
    const glJob = gitlab['lessons-verify']!;
    expect(job.steps.find((s) => s.id === 'install')!.run).toContain('npm install');
    expect(glJob.before_script.join('\n')).toContain('npm install');
    return [
      {
        name: 'github-actions.yml',
        env: job.env,
        commands: job.steps
          .filter((s) => s.run !== undefined && s.id !== 'install')
          .map((s) => s.run!),
      },
      { name: 'gitlab-ci.yml', env: glJob.variables, commands: glJob.script },
    ];
  }

  for (const detached of [false, true])
    it(`run as written against a fresh shallow clone${detached ? ' of a pull request (detached, no main)' : ''}: exit 0 clean, exit 1 with findings`, async () => {
      const store = await storeWithOneRecord();
      const s = await openStore({ dir: store });
      await s.recordHeuristic({ rule: 'Verify in CI', domain: 'ops' });
      await s.close();
      for (const workflow of workflows()) {
        const work = checkout(store, detached);
        const env = { ...workflow.env, PATH: pathWithLessons() };
        const run = (): { status: number | null; out: string } => {
          let last = { status: 0 as number | null, out: '' };
          for (const command of workflow.commands) {
            last = sh(command, env, work);
            if (last.status !== 0) break;
          }
          return last;
        };
        const clean = run();
        expect(clean.status, `${workflow.name}: ${clean.out}`).toBe(0);
        const report = path.join(work, 'reports', 'lessons-verify.xml');
        expect(fs.readFileSync(report, 'utf8')).toContain('failures="0"');

        // Findings: a committed record deleted, another's front matter edited.
        const files = execFileSync('git', ['-C', work, 'ls-files', 'failures', 'heuristics'], {
          encoding: 'utf8',
        })
          .trim()
          .split('\n');
        fs.rmSync(path.join(work, files[0]!));
        const other = path.join(work, files[1]!);
        fs.writeFileSync(
          other,
          fs.readFileSync(other, 'utf8').replace(/^title: .*$/m, 'title: Edited'),
        );
        const dirty = run();
        expect(dirty.status, workflow.name).toBe(1);
        const xml = fs.readFileSync(report, 'utf8');
        expect(xml).toContain('<failure type="FILE_MISSING"');
        expect(xml).toMatch(/<failure type="(FILE_MODIFIED|FIELD_MISMATCH)"/);
      }
    });
});

describe('the npm package', () => {
  it('ships the schedule and CI scripts and the docs, and no V8 cache or source map', () => {
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    ) as { files: { path: string }[] }[];
    const files = packed[0]!.files.map((f) => f.path);
    for (const expected of [
      'scripts/ci/verify.sh',
      'scripts/ci/github-actions.yml',
      'scripts/ci/gitlab-ci.yml',
      'scripts/cron/lessons-cleanup.crontab',
      'scripts/systemd/lessons-cleanup.service',
      'scripts/systemd/lessons-cleanup.timer',
      'scripts/cron/lessons-sync.crontab',
      'scripts/systemd/lessons-sync.service',
      'scripts/systemd/lessons-sync.timer',
      'docs/cli.md',
      'docs/operations.md',
      'dist/cli/lessons.cjs',
      'dist/cli/main.cjs',
      'dist/cli/record.cjs',
      'dist/src/index.js',
    ])
      expect(files).toContain(expected);
    expect(files.filter((f) => f.endsWith('.map') || f.endsWith('.cache'))).toEqual([]);
  });
});
