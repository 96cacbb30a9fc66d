// Waking a waiter when a named entry of a folder changes: the writers' lock released (lock.ts),
// a lock holder's socket appearing (group commit). inotify where the file system has it, and
// a timed wait in any case, which is all there is where it has not.

import fs from 'node:fs';
import path from 'node:path';

export class EntryWatch {
  private readonly file: string;
  private readonly isNews: () => boolean;
  private watcher: fs.FSWatcher | undefined;
  private wake: (() => void) | undefined;

  /** Watches `file`'s folder for changes to `file`; a change wakes only when `isNews()`. */
  constructor(file: string, isNews: () => boolean = () => true) {
    this.file = file;
    this.isNews = isNews;
  }

  /** Start watching (no-op when already watching). */
  arm(): void {
    if (this.watcher !== undefined) return;
    const name = path.basename(this.file);
    try {
      this.watcher = fs.watch(path.dirname(this.file), { persistent: false }, (_e, changed) => {
        if ((changed === null || changed === name) && this.wake !== undefined && this.isNews())
          this.poke();
      });
      this.watcher.on('error', () => this.close());
    } catch {
      this.watcher = undefined; // the timed waits alone
    }
  }

  /** Resolves at the next change that is news, or after `ms`, or on `signal`, whichever is first. */
  next(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Stop watching; a wait in progress ends now. */
  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.poke();
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
