// Group commit's transport (resources/handover.ts), on real Unix sockets and files: a holder
// takes an offer and answers it; an offer it does not take is declined when it stops serving,
// including one still waiting in the socket's backlog (never accepted, so never read); a
// waiter that goes away before it is taken is dropped unread; a damaged offer is refused with
// a retry; the board keeps only the marks and outcomes of live waiters.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/git/hash.js';
import type { RenderedRecord } from '../../src/record/types.js';
import {
  HandoverBoard,
  HandoverServer,
  holderSocketPath,
  newHandoverId,
  offerToHolder,
  type HandoverUnit,
  type OfferReply,
  type SentOffer,
} from '../../src/resources/handover.js';
import { currentIdentity } from '../../src/resources/owner.js';
import { tempDir } from '../helpers/store.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function unit(title: string): HandoverUnit {
  const content = Buffer.from(`---\ntitle: ${title}\n---\n`);
  const record = {
    id: `id-${title}`,
    kind: 'failure',
    title,
  } as unknown as RenderedRecord['record'];
  return {
    subject: `failure: ${title}`,
    records: [
      {
        record,
        path: `failures/${title}.md`,
        content,
        blobOid: 'b'.repeat(40),
        sha256: sha256(content),
      },
    ],
  };
}

/** Offer `units` to the holder at `file`; the reply, or 'nothing sent'. */
async function offer(
  file: string,
  units: readonly HandoverUnit[],
  hid = newHandoverId(),
): Promise<{ sent: boolean; reply: Promise<OfferReply> | undefined }> {
  let reply: Promise<OfferReply> | undefined;
  const sent = await offerToHolder(file, hid, currentIdentity(), units, {
    beforeSend: () => true,
    onSent: (r) => {
      reply = r.reply;
    },
  });
  return { sent, reply };
}

/** Run `fn` with a holder listening in a fresh folder; it stops serving afterwards. */
async function withHolder(
  fn: (server: HandoverServer, file: string) => Promise<void>,
): Promise<void> {
  const file = holderSocketPath(path.join(tempDir(), 'group'))!;
  const server = (await HandoverServer.listen(file))!;
  try {
    await fn(server, file);
  } finally {
    server.close();
  }
}

/** Until the server has read `count` offers. */
async function offersRead(server: HandoverServer, count: number): Promise<void> {
  while (server.waiting < count) await server.awaitOffers(count, 50);
}

describe('the holder socket', () => {
  it('carries an offer to the holder, which takes it whole and answers it', async () => {
    let socket = '';
    await withHolder(async (server, file) => {
      socket = file;
      const board = new HandoverBoard(path.dirname(file));
      const hid = newHandoverId();
      let reply: Promise<OfferReply> | undefined;
      const sent = await offerToHolder(file, hid, currentIdentity(), [unit('one')], {
        beforeSend: () => {
          board.markWaiting(hid, currentIdentity());
          return true;
        },
        onSent: (r) => {
          reply = r.reply;
        },
      });
      expect(sent).toBe(true);
      expect(board.isWaiting(hid)).toBe(true);
      await offersRead(server, 1);
      const [taken, ...rest] = server.take();
      expect(rest).toEqual([]);
      expect(taken!.hid).toBe(hid);
      expect(taken!.records).toBe(1);
      expect(taken!.units[0]!.subject).toBe('failure: one');
      expect(taken!.units[0]!.records[0]!.content.toString()).toContain('title: one');
      const results = [
        [
          {
            ok: true as const,
            id: 'x',
            rowid: 7,
            kind: 'failure' as const,
            path: 'p',
            commit: 'c',
          },
        ],
      ];
      expect(taken!.answer({ ok: true, results })).toBe(true);
      expect(await reply).toEqual({ kind: 'outcome', outcome: { ok: true, results } });
    });
    // Stopped serving: its socket is gone.
    expect(fs.existsSync(socket)).toBe(false);
  });

  it('takes offers oldest first, up to the bound, the first whatever its size', async () => {
    await withHolder(async (server, file) => {
      const a = await offer(file, [unit('a'), unit('a2')]);
      await offersRead(server, 1);
      const b = await offer(file, [unit('b')]);
      await offersRead(server, 2);
      expect(server.take({ maxRecords: 1 }).map((t) => t.records)).toEqual([2]);
      expect(server.take({ maxRecords: 1 }).map((t) => t.records)).toEqual([1]);
      expect(a.sent && b.sent).toBe(true);
    });
  });

  it('declines what it did not take when it stops serving; nothing listens after', async () => {
    const dir = tempDir();
    const file = holderSocketPath(path.join(dir, 'group'))!;
    const server = (await HandoverServer.listen(file))!;
    const { sent, reply } = await offer(file, [unit('late')]);
    expect(sent).toBe(true);
    await offersRead(server, 1);
    server.close();
    expect(await reply).toEqual({ kind: 'declined' });
    expect((await offer(file, [unit('after')])).sent).toBe(false);
  });

  it('gives an offer back when its waiter withdraws it before it is taken, not after', async () => {
    await withHolder(async (server, file) => {
      const sent: SentOffer[] = [];
      for (const title of ['early', 'late'])
        await offerToHolder(file, newHandoverId(), currentIdentity(), [unit(title)], {
          beforeSend: () => true,
          onSent: (o) => sent.push(o),
        });
      await offersRead(server, 2);
      const [taken] = server.take({ maxRecords: 1 });
      expect(taken!.units[0]!.subject).toBe('failure: early');
      while (!sent[0]!.taken) await server.gather();
      expect(sent[1]!.taken).toBe(false);
      // Withdrawn untaken: declined, and the holder has nothing left to take.
      sent[1]!.withdraw();
      expect(await sent[1]!.reply).toEqual({ kind: 'declined' });
      expect(server.take()).toEqual([]);
      // Withdrawn once taken: the outcome comes all the same.
      sent[0]!.withdraw();
      await server.gather();
      taken!.answer({ ok: true, results: [] });
      expect(await sent[0]!.reply).toEqual({ kind: 'outcome', outcome: { ok: true, results: [] } });
    });
  });

  it('drops unread the offer of a waiter that went away before it was taken', async () => {
    await withHolder(async (server, file) => {
      const socket = net.connect(file);
      await new Promise((r) => socket.once('connect', r));
      const line = JSON.stringify({
        version: 1,
        hid: newHandoverId(),
        owner: currentIdentity(),
        units: [],
      });
      socket.write(`${line}\n`);
      await offersRead(server, 1);
      socket.destroy();
      while (server.waiting > 0) await sleep(5);
      expect(server.take()).toEqual([]);
    });
  });

  it('closes a connection that sends what no waiter sends, and keeps serving', async () => {
    await withHolder(async (server, file) => {
      for (const line of ['null', '5', '{"version":1,"hid":"x","units":[{"records":7}]}', '{']) {
        const socket = net.connect(file);
        await new Promise((r) => socket.once('connect', r));
        socket.resume(); // the hello is read and dropped, so the close is seen
        socket.write(`${line}\n`);
        await new Promise((r) => socket.once('close', r));
      }
      expect(server.waiting).toBe(0);
      const { reply } = await offer(file, [unit('after garbage')]);
      await offersRead(server, 1);
      const [taken] = server.take();
      taken!.answer({ ok: true, results: [] });
      expect(await reply).toEqual({ kind: 'outcome', outcome: { ok: true, results: [] } });
    });
  });

  it('refuses a damaged offer with a retry, and takes nothing of it', async () => {
    await withHolder(async (server, file) => {
      const [good] = unit('bent').records;
      const units = [{ records: [{ ...good!, sha256: sha256(Buffer.from('something else')) }] }];
      const { reply } = await offer(file, units);
      await offersRead(server, 1);
      expect(server.take()).toEqual([]);
      const answer = await reply;
      expect(answer).toMatchObject({ kind: 'outcome', outcome: { ok: false, retry: true } });
    });
  });

  it('a connection the holder never accepted (it stopped first) is declined, not lost', async () => {
    const dir = tempDir();
    const file = holderSocketPath(path.join(dir, 'group'))!;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const flag = path.join(dir, 'sent');
    // A holder busy in a commit: listening, its event loop blocked (it accepts nothing) until
    // the offer is sent; then it stops serving without ever returning to the loop.
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('fs');
         const s = require('net').createServer(() => {}).listen(${JSON.stringify(file)}, () => {
           process.stdout.write('listening\\n');
           while (!fs.existsSync(${JSON.stringify(flag)})) {}
           fs.unlinkSync(${JSON.stringify(file)}); s.close(); process.exit(0);
         });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise((r) => holder.stdout.once('data', r));
    const { sent, reply } = await offer(file, [unit('raced')]);
    expect(sent).toBe(true);
    fs.writeFileSync(flag, '');
    await new Promise((r) => holder.once('exit', r));
    expect(await reply).toEqual({ kind: 'declined' });
  });
});

describe('the board', () => {
  it('keeps the marks and outcomes of live waiters, and sweeps the rest', () => {
    const dir = path.join(tempDir(), 'group');
    const board = new HandoverBoard(dir);
    const live = newHandoverId();
    const done = newHandoverId();
    board.markWaiting(live, currentIdentity());
    board.answer(live, { ok: true, results: [] });
    // An outcome whose waiter already had its answer (no mark): garbage.
    board.answer(done, { ok: true, results: [] });
    // A dead waiter's mark and outcome (pid 2^22 + 1 is above Linux's pid_max).
    const dead = `${String(Date.now()).padStart(15, '0')}-4194305-abcdef012345`;
    fs.writeFileSync(path.join(dir, `w-${dead}`), '');
    fs.writeFileSync(path.join(dir, `o-${dead}.json`), '{}');
    board.sweep();
    expect(fs.readdirSync(dir).sort()).toEqual([`o-${live}.json`, `w-${live}`]);
    expect(board.outcome(live)).toEqual({ ok: true, results: [] });
    board.forget(live);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('has no socket path when the store path is too long for one', () => {
    expect(holderSocketPath(`/tmp/${'x'.repeat(120)}`)).toBeUndefined();
    expect(holderSocketPath('/tmp/store/.lessons/group')).toBe(
      '/tmp/store/.lessons/group/holder.sock',
    );
  });
});
