import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { currentIdentity } from '../../src/store/owner.js';
import { WaitQueue } from '../../src/store/queue.js';
import { tempDir } from '../helpers/store.js';

/** Queues of this process, joined one after another (ticket names order by arrival). */
async function line(dir: string, n: number): Promise<WaitQueue[]> {
  const queues: WaitQueue[] = [];
  for (let i = 0; i < n; i++) {
    const queue = new WaitQueue(dir, currentIdentity());
    expect(queue.join()).toBe(true);
    queues.push(queue);
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
  return queues;
}

describe('the line of waiters for the writers lock', () => {
  it('has each waiter watch the one ahead, and the first watch the lock', async () => {
    const dir = tempDir();
    const [a, b, c] = await line(dir, 3);
    expect(a!.ahead()).toBeUndefined();
    const ticketOfA = b!.ahead()!;
    const ticketOfB = c!.ahead()!;
    expect([ticketOfA, ticketOfB].map((t) => fs.existsSync(t))).toEqual([true, true]);
    expect(ticketOfB > ticketOfA).toBe(true);
    // b is served and leaves, which wakes c; c now waits on a.
    const woken = WaitQueue.waitGone(ticketOfB, 60_000);
    b!.leave();
    await woken;
    expect(c!.ahead()).toBe(ticketOfA);
    a!.leave();
    expect(c!.ahead()).toBeUndefined();
    c!.leave();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('steps over and removes the ticket of a waiter that died', async () => {
    const dir = tempDir();
    const child = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], {
      encoding: 'utf8',
    });
    const deadPid = Number(child.stdout.trim());
    const ticket = path.join(
      dir,
      `q-${String(Date.now() - 1000).padStart(15, '0')}-${deadPid}-00ff00ff`,
    );
    fs.writeFileSync(ticket, JSON.stringify({ ...currentIdentity(), pid: deadPid }));
    const [me] = await line(dir, 1);
    expect(me!.ahead()).toBeUndefined();
    expect(fs.existsSync(ticket)).toBe(false);
    me!.leave();
  });

  it('does not wait on a ticket whose owner it cannot judge (another host)', async () => {
    const dir = tempDir();
    const ticket = path.join(dir, `q-${String(Date.now() - 1000).padStart(15, '0')}-1-00ff00ff`);
    fs.writeFileSync(ticket, JSON.stringify({ pid: 1, host: 'elsewhere.invalid', token: 'x' }));
    const [me] = await line(dir, 1);
    expect(me!.ahead()).toBeUndefined();
    // Not ours to remove: only its owner, or a sweep that can tell it is dead, does that.
    expect(fs.existsSync(ticket)).toBe(true);
    me!.leave();
  });

  it('wakes a waiter at once when the ticket ahead is already gone', async () => {
    const dir = tempDir();
    await WaitQueue.waitGone(path.join(dir, 'q-000000000000001-1-00000000'), 60_000);
  });
});
