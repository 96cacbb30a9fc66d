// Whatever lessons removes or overwrites goes here first: .lessons/quarantine/<stamp>/<path>,
// with a manifest.json saying where each file came from and why. Bytes are never deleted.

import fs from 'node:fs';
import path from 'node:path';
import { insideStore, type StoreLayout } from './layout.js';
import { fsyncDir, mkdirDurable, writeFileAtomic } from '../util/durable.js';

export interface QuarantineItem {
  /** Where the file was, relative to the store. */
  readonly from: string;
  /** Where it is now, relative to the store. */
  readonly to: string;
  readonly reason: string;
  readonly bytes: number;
  readonly at: string;
}

/** One quarantine folder per run, created on first use. */
export class Quarantine {
  private readonly layout: StoreLayout;
  private readonly stamp: string;
  private readonly items: QuarantineItem[] = [];

  constructor(layout: StoreLayout, now = new Date()) {
    this.layout = layout;
    this.stamp = `${now.toISOString().replace(/[:.]/g, '-')}-${process.pid}`;
  }

  get dir(): string {
    return path.join(this.layout.quarantineDir, this.stamp);
  }

  get moved(): readonly QuarantineItem[] {
    return this.items;
  }

  /** Move a file (absolute or store-relative path) into quarantine. */
  moveIn(file: string, reason: string): QuarantineItem {
    const absolute = insideStore(
      this.layout,
      path.isAbsolute(file) ? file : path.join(this.layout.dir, file),
    );
    const from = path.relative(this.layout.dir, absolute);
    const target = insideStore(this.layout, path.join(this.dir, 'files', from));
    mkdirDurable(path.dirname(target));
    // A symbolic link is moved as the link: its size, not its target's.
    const bytes = fs.lstatSync(absolute).size;
    fs.renameSync(absolute, target);
    fsyncDir(path.dirname(target));
    fsyncDir(path.dirname(absolute));
    return this.record(from, target, reason, bytes);
  }

  /** Keep a copy of bytes that are about to be overwritten or deleted by other means. */
  copyIn(from: string, content: Uint8Array, reason: string): QuarantineItem {
    const target = insideStore(this.layout, path.join(this.dir, 'files', from));
    mkdirDurable(path.dirname(target));
    writeFileAtomic(target, content);
    return this.record(from, target, reason, content.length);
  }

  private record(from: string, target: string, reason: string, bytes: number): QuarantineItem {
    const item: QuarantineItem = {
      from,
      to: path.relative(this.layout.dir, target),
      reason,
      bytes,
      at: new Date().toISOString(),
    };
    this.items.push(item);
    insideStore(this.layout, path.join(this.dir, 'manifest.json'));
    writeFileAtomic(
      path.join(this.dir, 'manifest.json'),
      `${JSON.stringify({ items: this.items }, null, 2)}\n`,
    );
    return item;
  }
}
