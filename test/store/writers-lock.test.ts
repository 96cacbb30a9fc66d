// The writers' lock when one holder hands it to the next: the holder that lets it go must not
// touch the lock that comes after it. proper-lockfile refreshes a lock's mtime by path, and a
// refresh under way when the holder released could land on the next holder's lock, which then
// saw an mtime not its own and gave up its transaction (LOCK_COMPROMISED): it happened to one
// of twenty CLI writers in a full test run on a loaded machine.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockFs } from '../../src/resources/lock.js';
import { currentIdentity } from '../../src/resources/owner.js';
import { ROOT, tempDir } from '../helpers/store.js';

type Callback = (error: NodeJS.ErrnoException | null) => void;
interface LockFs {
  mkdir(dir: string, callback: Callback): void;
  rmdir(dir: string, callback: Callback): void;
  utimes(file: string, atime: Date, mtime: Date, callback: Callback): void;
}

const call = (fn: (callback: Callback) => void): Promise<NodeJS.ErrnoException | null> =>
  new Promise((resolve) => fn(resolve));

describe("the writers' lock's file system", () => {
  it('refuses to refresh an mtime once the lock is released, and waits for a refresh under way', async () => {
    const dir = tempDir();
    const lockDir = path.join(dir, 'lock');
    const other = path.join(dir, 'next-holders-lock');
    fs.mkdirSync(other);
    const lock = lockFs(currentIdentity()) as LockFs;
    expect(await call((cb) => lock.mkdir(lockDir, cb))).toBeNull();

    // A refresh under way when the release comes: the lock goes only after it.
    const order: string[] = [];
    const refreshed = call((cb) => lock.utimes(lockDir, new Date(), new Date(1e12), cb)).then(
      (error) => order.push(`refreshed ${error?.code ?? 'ok'}`),
    );
    const released = call((cb) => lock.rmdir(lockDir, cb)).then((error) =>
      order.push(
        `released ${error?.code ?? 'ok'}, lock ${fs.existsSync(lockDir) ? 'left' : 'gone'}`,
      ),
    );
    await Promise.all([refreshed, released]);
    expect(order).toEqual(['refreshed ok', 'released ok, lock gone']);

    // After the release, a late refresh touches nothing, whoever holds the path now.
    fs.mkdirSync(lockDir);
    const before = fs.statSync(lockDir).mtimeMs;
    const late = await call((cb) => lock.utimes(lockDir, new Date(), new Date(2e12), cb));
    expect(late?.code).toBe('ERELEASED');
    expect(fs.statSync(lockDir).mtimeMs).toBe(before);
  });

  it('a holder slow to run after its release leaves the next holder its lock', async () => {
    // The holder's refresh (every second) starts its stat just before the release; its process
    // is then busy for a moment, so the stat's callback runs after the next holder took the
    // lock. The next holder keeps the lock for 2.5 s (two refreshes of its own) and must find
    // it still its own.
    const dir = tempDir();
    const script = path.join(dir, 'lock-race.mjs');
    fs.writeFileSync(
      script,
      `import { withWritersLock } from ${JSON.stringify(path.join(ROOT, 'dist/src/resources/lock.js'))};
const [role, lockDir] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const busy = (ms) => { const end = Date.now() + ms; while (Date.now() < end); };
if (role === 'first') {
  await withWritersLock(lockDir, { staleMs: 10000 }, async () => {
    process.stdout.write('held\\n');
    busy(1010);
    await sleep(1);
    busy(5);
  });
  busy(400);
  await sleep(500);
} else {
  await withWritersLock(lockDir, { staleMs: 10000 }, async (held) => {
    await sleep(2500);
    held.assertHeld();
  });
  process.stdout.write('kept\\n');
}
`,
    );
    const lockDir = path.join(dir, 'store', '.lessons', 'lock');
    fs.mkdirSync(path.dirname(lockDir), { recursive: true });
    const run = (role: string) => {
      const child = spawn(process.execPath, [script, role, lockDir], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
        child.on('close', (code) => resolve({ code, out, err })),
      );
      return { child, done, out: () => out };
    };
    const first = run('first');
    while (!first.out().includes('held')) await new Promise((r) => setTimeout(r, 10));
    const next = run('next');
    const [a, b] = await Promise.all([first.done, next.done]);
    expect(a.code, a.err).toBe(0);
    expect(b.err).toBe('');
    expect(b).toMatchObject({ code: 0, out: 'kept\n' });
  });
});
