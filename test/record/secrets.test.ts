// Secrets never enter history: kinds of secret refused (exit 2, SECRET_DETECTED, masked, the
// store untouched, even one that does not exist yet), look-alikes accepted, --allow-secret
// recorded as a trailer, verify's SECRET_IN_HISTORY, import-elf leaving such entries out.

import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/index.js';
import { prepareEvent } from '../../src/record/event.js';
import { evidenceEvent } from '../../src/record/lifecycle.js';
import { prepareRecord } from '../../src/record/markdown.js';
import { findSecrets, maskSecret } from '../../src/record/secrets.js';
import { validateFailure } from '../../src/record/validate.js';
import {
  BIN,
  consistencyProblems,
  git,
  lessons,
  runCli,
  storeState,
  tempDir,
  tempStore,
} from '../helpers/store.js';
import { fingerprint } from './properties.js';

// Assembled from pieces, so that this file itself holds nothing a scanner flags as a whole.
const join = (...parts: string[]): string => parts.join('');
const rsaKey = generateKeyPairSync('rsa', { modulusLength: 1024 })
  .privateKey.export({ type: 'pkcs1', format: 'pem' })
  .toString();
const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

/** [kind, the secret as it would appear in text, the rule expected to refuse it]. */
const SECRETS: [string, string, string][] = [
  ['AWS access key id', join('AKIA', 'QWERTYUIOPASDFGH'), 'aws'],
  [
    'AWS secret access key',
    join('aws_secret_access_key = ', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLE12'),
    'aws',
  ],
  ['GitHub personal access token', join('ghp_', 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'), 'github'],
  ['GitHub fine-grained token', join('github_pat_', 'A1b2C3d4E5'.repeat(8), 'xy'), 'github'],
  [
    'Slack bot token',
    join('xoxb-', '123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'),
    'slack',
  ],
  [
    'Slack incoming webhook',
    join('https://hooks.slack.com/services/', 'T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX'),
    'slack',
  ],
  ['RSA private key block', rsaKey, 'privatekey'],
  ['EC private key block (PKCS#8)', ecKey, 'privatekey'],
  [
    'JSON Web Token',
    join(
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9',
      '.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ',
      '.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
    ),
    'jwt',
  ],
  [
    'PostgreSQL URL with a password',
    join('postgres://admin:', 's3cr3tP4ss@db.example.com:5432/prod'),
    'database-connection-string',
  ],
  [
    'MySQL URL with a password',
    join('mysql://root:', 'hunter2x@10.0.0.1/app'),
    'database-connection-string',
  ],
  [
    'MongoDB URL with a password',
    join('mongodb://admin:', 'hunter22@db.example.com:27017/prod'),
    'database-connection-string',
  ],
  ['npm access token', join('npm_', 'abcdefghijklmnopqrstuvwxyz0123456789'), 'npm'],
  ['Google API key', join('AIza', 'SyA1234567890abcdefghijklmnopqrstuv'), 'google-api-key'],
  ['Stripe live secret key', join('sk_live_', '4eC39HqLyjWDarjtT1zdp7dc'), 'stripe'],
  ['OpenAI API key', join('sk-proj-', 'a'.repeat(74), 'T3BlbkFJ', 'b'.repeat(74)), 'openai'],
  [
    'SendGrid API key',
    join('SG.', 'abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ'),
    'sendgrid',
  ],
  ['Anthropic API key', join('sk-ant-api03-', 'a'.repeat(93), 'AA'), 'anthropic'],
  ['Shopify access token', join('shpat_', 'a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4'), 'shopify'],
  ['GitLab personal access token', join('glpat-', 'abcdefghij1234567890'), 'gitlab'],
  [
    'a URL with basic-auth credentials',
    join('https://deploy:', 'p4ssw0rd@example.com/hook'),
    'basicauth',
  ],
];

/** Text that looks like a secret to a careless eye and must be stored. */
const NEAR_MISSES: [string, string][] = [
  ['an AWS ARN', 'arn:aws:iam::123456789012:role/deploy-bot'],
  ['a UUID', '3f2504e0-4f89-41d3-9a0c-0305e82c3301'],
  ['a commit sha', '9fceb02d0ae598e95dc970b74767f19372d61af8'],
  ['a sha256 digest', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  [
    'a base64 image fragment',
    'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk',
  ],
  ['the AWS documentation example key id', 'AKIAIOSFODNN7EXAMPLE'],
  ['a database URL without a password', 'postgres://localhost:5432/app'],
  ['a URL with a user and no password', 'https://git@github.com/org/repo.git'],
  [
    'an SSH public key',
    'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@host',
  ],
  [
    'a public key block',
    '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----',
  ],
  ['a placeholder Stripe key', 'set STRIPE_KEY=sk_live_xxx in the environment'],
  ['a ULID', '01M82WEXZAQCTPSP7D8BN1PESB'],
  ['a token prefix alone', 'GitHub tokens start with ghp_ and Slack bot tokens with xoxb-'],
  ['a JWT-like word that is not one', 'eyJ is how base64 of {" begins'],
  ['an IPv6 address and a port', 'listen on [2001:db8::1]:8443 and 10.0.0.1:5432'],
  ['a redacted password', 'password: <redacted>, token: ****'],
  ['a semantic version and a hash-like id', 'v1.2.3-rc.1+build.5f3e2a1 of package @scope/name'],
];

describe('the secret scan', () => {
  let dir = '';
  let store: Store;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lessons-secrets-'));
    store = await openStore({ dir });
    await store.recordFailure({ title: 'seed', domain: 'seed' });
  });
  afterAll(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each(SECRETS)('refuses %s with exit 2, the store untouched', async (_kind, secret, rule) => {
    const before = fingerprint(dir);
    await expect(
      store.recordFailure({ title: 'a lesson', domain: 'x', body: `we pasted\n${secret}\n` }),
    ).rejects.toMatchObject({
      code: 'SECRET_DETECTED',
      exitCode: 2,
      data: {
        findings: expect.arrayContaining([expect.objectContaining({ rule, field: 'body' })]),
      },
    });
    expect(fingerprint(dir)).toBe(before);
  });

  it.each(NEAR_MISSES)('stores %s', async (_kind, text) => {
    const stored = await store.recordHeuristic({
      rule: 'look-alike',
      domain: 'x',
      explanation: text,
    });
    expect((await store.get(stored.id)).body).toContain(text.trim());
  });

  it.each(SECRETS)(
    'finds %s (the secret itself kept out of the test name)',
    async (_kind, secret, rule) => {
      const [findings] = await findSecrets([
        { kind: 'failure', title: 'x', domain: 'd', summary: `context line\nleaked: ${secret}\n` },
      ]);
      expect(findings!.map((f) => f.rule)).toContain(rule);
      const found = findings!.find((f) => f.rule === rule)!;
      expect(found).toMatchObject({ field: 'summary', line: 2 });
      // Masked: never more than its first four characters.
      expect(found.masked).not.toContain(secret.slice(4, 12));
    },
  );

  it.each(NEAR_MISSES)('accepts %s', async (_kind, text) => {
    const [findings] = await findSecrets([
      { kind: 'heuristic', rule: `about ${text}`, domain: 'd', explanation: text, tags: ['x'] },
    ]);
    expect(findings).toEqual([]);
  });

  it('cannot be switched off by a secretlint-disable comment in the text', async () => {
    const [findings] = await findSecrets([
      {
        kind: 'failure',
        title: 'x',
        domain: 'd',
        body: `<!-- secretlint-disable -->\n${SECRETS[2]![1]}\n<!-- secretlint-enable -->\n`,
      },
    ]);
    expect(findings!.map((f) => f.rule)).toEqual(['github']);
  });

  it('leaves nothing on the performance timeline, however many records one process scans', async () => {
    // secretlint 11 marked every rule run and kept every mark (secretlint#1633): a long-lived
    // process grew and slowed with each record.
    performance.clearMarks();
    for (let i = 0; i < 50; i++)
      await findSecrets([{ kind: 'failure', title: `scan ${i}`, domain: 'd', body: 'plain text' }]);
    expect(performance.getEntriesByType('mark')).toHaveLength(0);
  });

  it('masks a secret to its first characters', () => {
    expect(maskSecret('AKIAQWERTYUIOPASDFGH')).toBe('AKIA****************');
    expect(maskSecret('abc')).toBe('***');
  });
});

/**
 * Commit `leaked` with native git, reindex, and expect verify to report it (exit 1) as
 * SECRET_IN_HISTORY with `mentioned` in its message and the secret itself masked.
 */
async function expectReportedAfterCommitByHand(
  dir: string,
  leaked: { path: string; content: Uint8Array },
  mentioned: string,
): Promise<void> {
  fs.mkdirSync(path.join(dir, path.dirname(leaked.path)), { recursive: true });
  fs.writeFileSync(path.join(dir, leaked.path), leaked.content);
  git(dir, 'add', leaked.path);
  git(dir, 'commit', '-q', '-m', 'by hand');
  expect((await lessons(['--dir', dir, 'reindex'])).code).toBe(0);
  const verified = await lessons(['--dir', dir, '--json', 'verify']);
  expect(verified.code).toBe(1);
  expect(verified.json).toMatchObject({
    ok: false,
    findings: [
      {
        code: 'SECRET_IN_HISTORY',
        path: leaked.path,
        message: expect.stringContaining(mentioned),
      },
    ],
  });
  expect(verified.stdout).not.toContain('s3cr3tP4ss');
}

describe('a record holding a secret', () => {
  it('is refused with exit 2 and SECRET_DETECTED, masked everywhere, before a store exists', async () => {
    const dir = tempStore();
    const secret = SECRETS[2]![1];
    const result = await lessons([
      '--dir',
      dir,
      '--json',
      'record-failure',
      '--title',
      'Leaked a token',
      '--domain',
      'ci',
      '--root-cause',
      `the CI log printed\n${secret}`,
    ]);
    expect(result.code).toBe(2);
    expect(result.json).toMatchObject({
      ok: false,
      error: {
        code: 'SECRET_DETECTED',
        message: expect.stringContaining('rootCause line 2'),
        data: { findings: [{ field: 'rootCause', rule: 'github', line: 2 }] },
      },
    });
    expect(result.stdout + result.stderr).not.toContain(secret.slice(4));
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('is refused in any field of an existing store, which stays byte-identical', async () => {
    const dir = tempStore();
    const store = await openStore({ dir });
    await store.recordFailure({ title: 'before', domain: 'x' });
    const before = storeState(dir);
    const secret = SECRETS[0]![1];
    for (const input of [
      { title: `key ${secret}`, domain: 'x' },
      { title: 'tags', domain: 'x', tags: ['ok', secret] },
      { title: 'body', domain: 'x', body: `# notes\n\n${secret}\n` },
    ])
      await expect(store.recordFailure(input)).rejects.toMatchObject({
        code: 'SECRET_DETECTED',
        exitCode: 2,
      });
    await expect(
      store.recordMany([
        { kind: 'heuristic', rule: 'fine', domain: 'x' },
        { kind: 'heuristic', rule: 'leaky', domain: 'x', explanation: secret },
      ]),
    ).rejects.toMatchObject({ data: { findings: [{ field: 'records[1].explanation' }] } });
    await store.close();
    expect(storeState(dir)).toEqual(before);
  });

  it('is stored with --allow-secret <rule>, recorded as a commit trailer, and not reported by verify', async () => {
    const dir = tempStore();
    const token = SECRETS[0]![1];
    const refused = await runCli(BIN.recordFailure, [
      '--dir',
      dir,
      '--title',
      `rotated ${token}`,
      '--domain',
      'x',
      '--allow-secret',
      'github',
    ]);
    expect(refused.code).toBe(2);
    const unknown = await runCli(BIN.recordFailure, [
      '--dir',
      dir,
      '--json',
      '--title',
      't',
      '--domain',
      'x',
      '--allow-secret',
      'nonsense',
    ]);
    expect(unknown.json).toMatchObject({
      ok: false,
      error: { code: 'INVALID_INPUT', data: { field: 'allowSecrets' } },
    });
    const result = await runCli(BIN.recordFailure, [
      '--dir',
      dir,
      '--json',
      '--title',
      `rotated ${token}`,
      '--domain',
      'x',
      '--allow-secret',
      'aws',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(git(dir, 'log', '-1', '--format=%B')).toContain('Lessons-Allow-Secret: aws');
    expect(consistencyProblems(dir)).toEqual([]);
    const verified = await lessons(['--dir', dir, '--json', 'verify']);
    expect(verified.json).toMatchObject({ ok: true });
  });

  it('already committed by other means is reported by verify as SECRET_IN_HISTORY with its path', async () => {
    const dir = tempStore();
    const store = await openStore({ dir });
    await store.recordFailure({ title: 'clean', domain: 'x' });
    await store.close();
    // A person commits a record file holding a key with native git; reindex builds its row.
    const leaked = prepareRecord(
      validateFailure({ title: 'pasted a config', domain: 'x', summary: `db: ${SECRETS[9]![1]}` }),
    );
    await expectReportedAfterCommitByHand(dir, leaked, 'database-connection-string');
  });

  it('in a lifecycle event committed by other means is reported too; one allowed when recorded is not', async () => {
    const dir = tempStore();
    const store = await openStore({ dir });
    const rule = await store.recordHeuristic({ rule: 'Rotate keys yearly', domain: 'x' });
    // Allowed by the person who recorded it: stored, with its trailer, and not reported.
    await store.update(rule.id, {
      summary: `The example key ${SECRETS[0]![1]} is in the vendor's docs.`,
      allowSecrets: [SECRETS[0]![2]],
    });
    await store.close();
    // A person commits an event whose note holds a key, with native git (or a sync brings it).
    const leaked = prepareEvent(
      evidenceEvent('violate', rule.id, { note: `db: ${SECRETS[9]![1]}` }, new Date()),
    );
    await expectReportedAfterCommitByHand(dir, leaked, 'note');
  });
});

describe('import-elf and secrets', () => {
  it('leaves out entries holding a secret, reports them masked (exit 1), and imports them with --allow-secret', async () => {
    const source = path.join(tempDir(), 'memory');
    fs.mkdirSync(path.join(source, 'failures'), { recursive: true });
    fs.writeFileSync(
      path.join(source, 'failures', 'clean.md'),
      '# Clean entry\n\n**Domain**: ops\n\nnothing to hide\n',
    );
    fs.writeFileSync(
      path.join(source, 'failures', 'leaky.md'),
      `# Leaky entry\n\n**Domain**: ops\n\nthe key was ${SECRETS[14]![1]}\n`,
    );
    const dir = tempStore();
    const first = await lessons(['--dir', dir, '--json', 'import-elf', source]);
    expect(first.code).toBe(1);
    expect(first.json).toMatchObject({
      ok: false,
      failures: { imported: 1 },
      secrets: [{ key: 'file:failures/leaky.md', findings: [{ rule: 'stripe' }] }],
    });
    expect(first.stdout).not.toContain('4eC39HqLyjWDarjtT1zdp7dc');
    expect(storeState(dir).rows).toHaveLength(1);
    const second = await lessons([
      '--dir',
      dir,
      '--json',
      'import-elf',
      source,
      '--allow-secret',
      'stripe',
    ]);
    expect(second.code, second.stderr).toBe(0);
    expect(storeState(dir).rows).toHaveLength(2);
    expect(git(dir, 'log', '-1', '--format=%B')).toMatch(/Lessons-Allow-Secret: stripe\b/);
    expect(consistencyProblems(dir)).toEqual([]);
  });
});
