// How group commit's records and answers travel between the writers waiting for the writers'
// lock and the lock holder. Two channels:
//
//   the holder's socket   `.lessons/group/holder.sock`, a Unix socket the holder listens on
//                         while it leads. A waiter connects, sends its rendered units as one
//                         line of JSON, and reads one line back: its outcome (stored, with
//                         ids, rowids and commits; or failed), or "declined" when the holder
//                         stops serving without taking it. Nothing is polled: the waiter
//                         sleeps in a read, and the holder learns at once of a waiter that died.
//   the board             `.lessons/group/`, for what must outlive a holder's death:
//                           w-<hid>   waiting: made by the waiter before it sends, removed
//                                     by it once it has its outcome
//                           o-<hid>.json  outcome: written by recovery for each waiting
//                                     member of a journal entry whose leader died, or by a
//                                     holder whose answer could not reach its socket
//
// Nothing here is fsynced: a handover matters only while its waiter lives, and the holder
// writes its records durably itself (journal, files, objects). After a power loss every
// waiter is gone too, and what a holder committed is in git, found by recovery. `<hid>`
// begins with the arrival time and the waiter's pid, so files of dead waiters are told apart
// without reading them.

import fs from 'node:fs';
import os from 'node:os';
import type net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { sha256 } from '../git/hash.js';
import type { RecordResult, RenderedRecord } from '../record/types.js';
import { rmQuiet } from '../util/durable.js';
import { liveness, type ProcessIdentity } from './owner.js';

/** One caller's records and its commit subject, as handed over. */
export interface HandoverUnit {
  readonly records: readonly RenderedRecord[];
  readonly subject?: string | undefined;
}

/** What the waiter learns: its records stored (each unit's results), or why not. */
export type HandoverOutcome =
  | { readonly ok: true; readonly results: RecordResult[][] }
  | {
      readonly ok: false;
      readonly error: {
        readonly code: string;
        readonly message: string;
        readonly exitCode: number;
      };
      /** Nothing of the group is stored, and no journal entry of it is left: safe to try again. */
      readonly retry: boolean;
    };

/** The largest group a holder gathers: records, and bytes of record content. */
export const GROUP_MAX_RECORDS = 64;
export const GROUP_MAX_BYTES = 8 * 1024 * 1024;

/**
 * node:net, loaded on first use: a writer alone never needs it, and loading it costs a cold
 * record about 4 ms.
 */
function netModule(): typeof net {
  return process.getBuiltinModule('node:net');
}

/** The longest socket path the kernel takes (sun_path is 108 bytes on Linux, 104 on macOS). */
const MAX_SOCKET_PATH = 103;

const HELLO = `${JSON.stringify({ hello: process.pid })}\n`;
const TAKEN = `${JSON.stringify({ taken: true })}\n`;
const WITHDRAW = `${JSON.stringify({ withdraw: true })}\n`;

/** Turns of the event loop a holder gives its socket before it takes offers: at most. */
const GATHER_TURNS = 8;

const NAME = /^([wo])-((\d+)-(\d+)-[0-9a-f]+)(?:\.json)?$/;

/** A fresh handover id: arrival time, pid, random. */
export function newHandoverId(): string {
  return `${String(Date.now()).padStart(15, '0')}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** The holder's socket in `groupDir`; undefined when its path is too long to bind. */
export function holderSocketPath(groupDir: string): string | undefined {
  const file = path.join(groupDir, 'holder.sock');
  return Buffer.byteLength(file) <= MAX_SOCKET_PATH ? file : undefined;
}

export class HandoverBoard {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  private file(kind: 'w' | 'o', hid: string): string {
    return path.join(this.dir, kind === 'w' ? `w-${hid}` : `o-${hid}.json`);
  }

  /**
   * The waiter `hid` is about to send its units: recovery answers it here if its holder dies.
   * Made again at each offer (a sweep elsewhere may have judged it wrongly); it names its owner.
   */
  markWaiting(hid: string, owner: ProcessIdentity): void {
    fs.mkdirSync(this.dir, { recursive: true });
    fs.writeFileSync(this.file('w', hid), JSON.stringify(owner));
  }

  /** True while the waiter `hid` waits for its outcome. */
  isWaiting(hid: string): boolean {
    return fs.existsSync(this.file('w', hid));
  }

  /** The outcome of `hid`, once written. */
  outcome(hid: string): HandoverOutcome | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.file('o', hid), 'utf8')) as HandoverOutcome;
    } catch {
      return undefined;
    }
  }

  /** Write the outcome of `hid` (atomically: the waiter reads it whole or not at all). */
  answer(hid: string, outcome: HandoverOutcome): void {
    fs.mkdirSync(this.dir, { recursive: true });
    const tmp = `${this.dir}/t-${hid}-${randomBytes(4).toString('hex')}`;
    fs.writeFileSync(tmp, JSON.stringify(outcome));
    fs.renameSync(tmp, this.file('o', hid));
  }

  /** The waiter is done with its handover: its mark goes first, then any outcome. */
  forget(hid: string): void {
    rmQuiet(this.file('w', hid));
    rmQuiet(this.file('o', hid));
  }

  /**
   * Under the writers' lock: remove what waiters that died left (marks, outcomes, temp files),
   * and outcomes whose waiter is done (no mark: it had its answer from the socket meanwhile).
   */
  sweep(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return;
    }
    const dead = new Set<string>();
    const waiting = new Set<string>();
    for (const name of names) {
      if (!name.startsWith('w-')) continue;
      const hid = name.slice(2);
      // A mark names its owner (pid and host): one on another host is never judged dead here.
      // (A mark cut short by its writer's death names nobody: judged by its id, as local.)
      const owner = readOwner(path.join(this.dir, name)) ?? {
        pid: hidPid(hid),
        host: os.hostname(),
      };
      if (liveness(owner) === 'dead') {
        dead.add(hid);
        rmQuiet(path.join(this.dir, name));
      } else waiting.add(hid);
    }
    for (const name of names) {
      const match = NAME.exec(name);
      if (match?.[1] === 'o' && !waiting.has(match[2]!)) rmQuiet(path.join(this.dir, name));
      // An answer's temp file whose waiter is gone (the answer was cut short).
      const hid = /^t-(\d+-\d+-[0-9a-f]+)-[0-9a-f]+$/.exec(name)?.[1];
      if (hid !== undefined && (dead.has(hid) || !waiting.has(hid)))
        rmQuiet(path.join(this.dir, name));
    }
  }
}

/** The handover's owner pid, from its id. */
function hidPid(hid: string): number {
  return Number(hid.split('-')[1]);
}

function readOwner(file: string): ProcessIdentity | undefined {
  try {
    const owner = JSON.parse(fs.readFileSync(file, 'utf8')) as ProcessIdentity;
    return typeof owner.pid === 'number' ? owner : undefined;
  } catch {
    return undefined;
  }
}

// ---- the wire: one line of JSON each way ----------------------------------------------------

interface WireRecord {
  readonly record: RenderedRecord['record'];
  readonly path: string;
  readonly content: string;
  readonly blobOid: string;
  readonly sha256: string;
  readonly allowedSecrets?: readonly string[];
  readonly scanned?: string;
}

interface WireOffer {
  readonly version: 1;
  readonly hid: string;
  readonly owner: ProcessIdentity;
  readonly units: readonly { readonly subject?: string; readonly records: WireRecord[] }[];
}

type WireReply =
  { readonly hello: number } | { readonly declined: true } | { readonly outcome: HandoverOutcome };

function offerLine(hid: string, owner: ProcessIdentity, units: readonly HandoverUnit[]): string {
  const offer: WireOffer = {
    version: 1,
    hid,
    owner,
    units: units.map((u) => ({
      ...(u.subject === undefined ? {} : { subject: u.subject }),
      records: u.records.map((r) => ({
        record: r.record,
        path: r.path,
        content: r.content.toString('base64'),
        blobOid: r.blobOid,
        sha256: r.sha256,
        ...(r.allowedSecrets === undefined ? {} : { allowedSecrets: r.allowedSecrets }),
        ...(r.scanned === undefined ? {} : { scanned: r.scanned }),
      })),
    })),
  };
  return `${JSON.stringify(offer)}\n`;
}

/** The units as rendered records again; undefined when the offer is not whole or a hash differs. */
function hydrate(offer: WireOffer): HandoverUnit[] | undefined {
  const wire: unknown = offer.units;
  if (offer.version !== 1 || !Array.isArray(wire)) return undefined;
  const units: HandoverUnit[] = [];
  for (const unit of offer.units) {
    const records: RenderedRecord[] = [];
    for (const r of unit.records) {
      const content = Buffer.from(r.content, 'base64');
      if (sha256(content) !== r.sha256) return undefined;
      records.push({
        record: r.record,
        path: r.path,
        content,
        blobOid: r.blobOid,
        sha256: r.sha256,
        ...(r.allowedSecrets === undefined ? {} : { allowedSecrets: r.allowedSecrets }),
        ...(typeof r.scanned === 'string' ? { scanned: r.scanned } : {}),
      });
    }
    units.push({ records, ...(unit.subject === undefined ? {} : { subject: unit.subject }) });
  }
  return units;
}

/** Calls `onLine` with each complete line read from `socket`. */
function readLines(socket: net.Socket, onLine: (line: string) => void): void {
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    pending += chunk;
    for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 1);
      onLine(line);
    }
  });
}

// ---- the holder's side ----------------------------------------------------------------------

/** A handover the holder took into its group. */
export interface ClaimedHandover {
  readonly hid: string;
  readonly units: readonly HandoverUnit[];
  readonly records: number;
  /** Send the waiter its outcome; false when it could not be handed to the socket whole. */
  answer(outcome: HandoverOutcome): boolean;
}

interface Offered {
  readonly hid: string;
  readonly socket: net.Socket;
  readonly units: readonly HandoverUnit[] | undefined;
  readonly records: number;
  readonly bytes: number;
}

/**
 * The lock holder's end: listens on the socket while it leads, and keeps the offers that
 * arrive, in order, until it takes them or declines them. Offers of waiters whose connection
 * closed are dropped unread: never committed.
 */
export class HandoverServer {
  private readonly offers: Offered[] = [];
  private readonly open = new Set<net.Socket>();
  private readonly taken = new WeakSet<net.Socket>();
  private arrived: (() => void) | undefined;
  /** Connections accepted whose offer has not been read whole. */
  private readonly unread = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    private readonly file: string,
  ) {}

  /** Listen on `file` (the caller holds the writers' lock); undefined when it cannot. */
  static async listen(file: string | undefined): Promise<HandoverServer | undefined> {
    if (file === undefined) return undefined;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    rmQuiet(file); // a holder that died left it; only a lock holder makes it
    const server = netModule().createServer();
    const holder = new HandoverServer(server, file);
    server.on('connection', (socket) => holder.accept(socket));
    const listening = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(file, () => resolve(true));
    });
    if (!listening) {
      server.close();
      return undefined;
    }
    server.on('error', () => undefined);
    return holder;
  }

  /** How many offers are waiting to be taken. */
  get waiting(): number {
    return this.offers.length;
  }

  /**
   * Let the event loop take in what has reached the socket: connections waiting to be
   * accepted and the offers on them. A holder busy committing reads nothing meanwhile.
   */
  async gather(): Promise<void> {
    for (let turn = 0; turn < GATHER_TURNS; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
      if (turn > 0 && this.unread.size === 0) return;
    }
  }

  /** Resolves once `count` offers wait, or after `ms`. */
  async awaitOffers(count: number, ms: number): Promise<void> {
    await this.gather();
    if (this.waiting >= count) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.arrived = undefined;
        resolve();
      }, ms);
      this.arrived = () => {
        if (this.waiting < count) return;
        clearTimeout(timer);
        this.arrived = undefined;
        resolve();
      };
    });
    await this.gather();
  }

  /**
   * Take the offers waiting, oldest first, up to the bounds (the first is always taken,
   * whatever its size). A damaged offer is answered (its waiter tries again) and not taken.
   */
  take(options: { maxRecords?: number; maxBytes?: number } = {}): ClaimedHandover[] {
    const maxRecords = options.maxRecords ?? GROUP_MAX_RECORDS;
    const maxBytes = options.maxBytes ?? GROUP_MAX_BYTES;
    const taken: ClaimedHandover[] = [];
    let records = 0;
    let bytes = 0;
    while (this.offers.length > 0) {
      const offer = this.offers[0]!;
      if (
        taken.length > 0 &&
        (records + offer.records > maxRecords || bytes + offer.bytes > maxBytes)
      )
        break;
      this.offers.shift();
      this.taken.add(offer.socket);
      if (offer.units === undefined) {
        reply(offer.socket, {
          outcome: {
            ok: false,
            retry: true,
            error: { code: 'IO_ERROR', message: 'the handover was damaged', exitCode: 1 },
          },
        });
        continue;
      }
      const socket = offer.socket;
      socket.write(TAKEN);
      taken.push({
        hid: offer.hid,
        units: offer.units,
        records: offer.records,
        answer: (outcome) => reply(socket, { outcome }),
      });
      records += offer.records;
      bytes += offer.bytes;
    }
    return taken;
  }

  /**
   * Stop serving: no new connection reaches this holder, and every offer not taken is
   * declined (its waiter goes back to the lock). Call before the lock is released.
   */
  close(): void {
    rmQuiet(this.file);
    this.server.close();
    this.offers.splice(0);
    for (const socket of this.open) {
      if (!this.taken.has(socket)) reply(socket, { declined: true });
      // What was written is flushed, but a waiter slow to close does not keep this process
      // alive: an answer the kernel had not taken whole is on the board too.
      socket.end();
      socket.unref();
    }
  }

  private accept(socket: net.Socket): void {
    this.open.add(socket);
    this.unread.add(socket);
    // Accepted: from here on, a connection that closes unanswered may have been taken.
    socket.write(HELLO);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.open.delete(socket);
      this.unread.delete(socket);
      const at = this.offers.findIndex((o) => o.socket === socket);
      if (at >= 0) this.offers.splice(at, 1); // its waiter died: never committed
    });
    readLines(socket, (line) => {
      try {
        this.read(socket, line);
      } catch {
        socket.destroy(); // not what a waiter sends: nothing of it is taken
      }
    });
  }

  /** One line from a waiter: its offer, or its withdrawal. Throws on anything else. */
  private read(socket: net.Socket, line: string): void {
    const message = JSON.parse(line) as WireOffer | { readonly withdraw: true } | null;
    if (typeof message !== 'object' || message === null) throw new Error('not an offer');
    if ('withdraw' in message) {
      // Its waiter gives up: declined if still here; once taken, its outcome will come.
      const at = this.offers.findIndex((o) => o.socket === socket);
      if (at >= 0) {
        this.offers.splice(at, 1);
        this.taken.add(socket);
        reply(socket, { declined: true });
      }
      return;
    }
    const offer = message;
    if (typeof offer.hid !== 'string') throw new Error('not an offer');
    const units = hydrate(offer);
    this.offers.push({
      hid: offer.hid,
      socket,
      units,
      records: units?.reduce((n, u) => n + u.records.length, 0) ?? 0,
      bytes:
        units?.reduce((n, u) => n + u.records.reduce((m, r) => m + r.content.length, 0), 0) ?? 0,
    });
    this.unread.delete(socket);
    this.arrived?.();
  }
}

/** Write one reply; true when the kernel has all of it (the waiter reads it even if we die). */
function reply(socket: net.Socket, message: WireReply): boolean {
  if (socket.destroyed) return false;
  socket.write(`${JSON.stringify(message)}\n`);
  return socket.writableLength === 0;
}

// ---- the waiter's side ----------------------------------------------------------------------

/** What became of an offer: an outcome, declined (nothing taken), or lost (no reply came). */
export type OfferReply =
  | { readonly kind: 'outcome'; readonly outcome: HandoverOutcome }
  | { readonly kind: 'declined' }
  | { readonly kind: 'lost' };

/** An offer sent to the holder, until its reply. */
export interface SentOffer {
  /** Resolves once with the reply. A live holder is waited for however long it takes. */
  readonly reply: Promise<OfferReply>;
  /** True once the holder took the offer into a group: from then on only its outcome will do. */
  readonly taken: boolean;
  /**
   * Ask for the offer back (the waiter gives up). The holder declines it if it has not taken
   * it; if it has, the reply is its outcome as before.
   */
  withdraw(): void;
}

/**
 * Connect to the lock holder's socket and send `units`. `beforeSend` may refuse at the last
 * moment (false: nothing is sent); `onSent` gets the offer, synchronously after the send.
 * Resolves false when nothing was sent: no holder listens (it is not leading a group, or
 * died), or `beforeSend` refused.
 */
export function offerToHolder(
  file: string,
  hid: string,
  owner: ProcessIdentity,
  units: readonly HandoverUnit[],
  hooks: { beforeSend: () => boolean; onSent: (offer: SentOffer) => void },
): Promise<boolean> {
  // No holder has listened since the last one stopped: nothing to connect to.
  if (!fs.existsSync(file)) return Promise.resolve(false);
  return new Promise((resolveSent) => {
    const socket = netModule().connect(file);
    let settle: ((reply: OfferReply) => void) | undefined;
    const give = (reply: OfferReply): void => {
      settle?.(reply);
      settle = undefined;
    };
    socket.on('error', () => {
      resolveSent(false);
      socket.destroy();
    });
    // Closed before the holder said hello: it never accepted the connection (it stopped
    // serving first), so it never read the offer.
    let accepted = false;
    socket.on('close', () => give(accepted ? { kind: 'lost' } : { kind: 'declined' }));
    socket.on('connect', () => {
      let send = false;
      try {
        send = hooks.beforeSend();
      } catch {
        // not marked as waiting (a full disk?): not handed over; the lock is waited for
      }
      if (!send) {
        socket.destroy();
        resolveSent(false);
        return;
      }
      const offer = {
        reply: new Promise<OfferReply>((resolve) => (settle = resolve)),
        taken: false,
        withdraw: () => {
          if (!socket.destroyed) socket.write(WITHDRAW);
        },
      };
      readLines(socket, (line) => {
        let message: WireReply | undefined;
        try {
          message = JSON.parse(line) as WireReply;
        } catch {
          message = undefined;
        }
        if (message !== undefined && 'hello' in message) accepted = true;
        else if (message !== undefined && 'taken' in message) offer.taken = true;
        else {
          if (message !== undefined && 'outcome' in message)
            give({ kind: 'outcome', outcome: message.outcome });
          else if (message !== undefined && 'declined' in message) give({ kind: 'declined' });
          else give({ kind: 'lost' });
          socket.destroy();
        }
      });
      hooks.onSent(offer);
      socket.write(offerLine(hid, owner, units));
      resolveSent(true);
    });
  });
}
