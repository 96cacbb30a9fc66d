import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { currentIdentity } from '../../src/resources/owner.js';
import { WaitQueue } from '../../src/resources/queue.js';
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

/** A live process (idle) with a ticket in line at `dir`, ahead of any joined later. */
async function waiterAhead(dir: string): Promise<{ child: ChildProcess; ticket: string }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
  await once(child, 'spawn');
  const ticket = path.join(
    dir,
    `q-${String(Date.now() - 1000).padStart(15, '0')}-${child.pid}-00ff00ff`,
  );
  fs.writeFileSync(
    ticket,
    JSON.stringify({ ...currentIdentity(), pid: child.pid, startTicks: undefined }),
  );
  return { child, ticket };
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
    // c waits its turn: b being served is not enough while a is still ahead.
    let served = false;
    const turn = c!
      .waitTurn(performance.now() + 60_000, () => 60_000)
      .then(() => {
        served = true;
      });
    b!.leave();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(served).toBe(false);
    expect(c!.ahead()).toBe(ticketOfA);
    a!.leave();
    await turn;
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

  it('notices at its next poll that the waiter ahead died in line, and removes its ticket', async () => {
    const dir = tempDir();
    const { child, ticket } = await waiterAhead(dir);
    const [me] = await line(dir, 1);
    expect(me!.ahead()).toBe(ticket);
    let served = false;
    const turn = me!
      .waitTurn(performance.now() + 60_000, () => 50)
      .then(() => {
        served = true;
      });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(served).toBe(false);
    child.kill('SIGKILL');
    await once(child, 'exit');
    await turn;
    expect(fs.existsSync(ticket)).toBe(false);
    me!.leave();
  });

  it('stops waiting behind a live waiter that does not move while the lock stays free', async () => {
    const dir = tempDir();
    const { child: stuck, ticket } = await waiterAhead(dir);
    const [me] = await line(dir, 1);
    try {
      // While the lock is held, a live waiter ahead is waited on...
      let served = false;
      const held = me!
        .waitTurn(
          performance.now() + 1_500,
          () => 50,
          () => false,
        )
        .then(() => (served = true));
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      expect(served).toBe(false);
      await held;
      // ...but with the lock free all along, for about a second only.
      const started = performance.now();
      await me!.waitTurn(
        started + 60_000,
        () => 50,
        () => true,
      );
      expect(performance.now() - started).toBeGreaterThanOrEqual(900);
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(fs.existsSync(ticket)).toBe(true);
    } finally {
      stuck.kill('SIGKILL');
      me!.leave();
    }
  });

  it('gives up waiting at the deadline, leaving the line as it is', async () => {
    const dir = tempDir();
    const [a, b] = await line(dir, 2);
    const started = performance.now();
    await b!.waitTurn(started + 150, () => 1_000);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(b!.ahead()).toBeDefined();
    a!.leave();
    b!.leave();
  });
});
