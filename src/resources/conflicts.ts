// Sync conflicts a person has not resolved yet: .lessons/conflicts/<id>.json, one per path that
// both sides changed. The merge keeps the remote's version in HEAD; the local version stays
// reachable (its commit is the merge's first parent) and is named here until a person decides
// (docs/sync.md). verify reports each note as SYNC_CONFLICT.

import fs from 'node:fs';
import path from 'node:path';
import {
  errnoCode,
  fsyncDir,
  jsonFileNames,
  mkdirDurable,
  writeFileAtomic,
} from '../util/durable.js';

export interface ConflictNote {
  /** `<merge txid>-<n>`: unique, and the same when recovery writes the note again. */
  readonly id: string;
  /** The path both sides changed, relative to the store. */
  readonly path: string;
  /** Which side HEAD holds: always the remote's (the rule, docs/sync.md). */
  readonly kept: 'remote';
  /** The blob HEAD holds at the path (null: the remote removed it). */
  readonly keptBlob: string | null;
  /** The local blob that lost (null: removed locally); `git show <blob>` prints it. */
  readonly otherBlob: string | null;
  /** The local commit holding `otherBlob`: the merge commit's first parent. */
  readonly localCommit: string;
  /** The fetched commit holding `keptBlob`. */
  readonly remoteCommit: string;
  readonly mergeCommit: string;
  readonly remote: string;
  /** ISO time of the merge. */
  readonly detected: string;
}

export class Conflicts {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  private fileFor(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }

  /** Write a note durably; writing the same note again is harmless. */
  write(note: ConflictNote): void {
    mkdirDurable(this.dir);
    writeFileAtomic(this.fileFor(note.id), `${JSON.stringify(note, null, 2)}\n`);
  }

  /** Every note, oldest first; unreadable ones are skipped (they are a person's to look at). */
  list(): ConflictNote[] {
    const notes: ConflictNote[] = [];
    for (const name of jsonFileNames(this.dir)) {
      try {
        notes.push(JSON.parse(fs.readFileSync(path.join(this.dir, name), 'utf8')) as ConflictNote);
      } catch {
        // torn or removed meanwhile
      }
    }
    return notes;
  }

  /** Remove a note; false when there is none by that id. */
  remove(id: string): boolean {
    try {
      fs.unlinkSync(this.fileFor(id));
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return false;
      throw error;
    }
    fsyncDir(this.dir);
    return true;
  }
}
