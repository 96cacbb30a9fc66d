// The walk of the record folders (src/maintenance/walk.ts) as verify's scan thread packs it to
// cross to the main thread: unpacked, it must be exactly the walk done in place.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/index.js';
import { packedWalk, unpackWalk, walkRecordFolders } from '../../src/maintenance/walk.js';
import { tempDir, tempStore } from '../helpers/store.js';

describe('the walk of the record folders', () => {
  it('crosses between threads packed and comes back the same, odd entries and all', async () => {
    const dir = tempStore();
    const store = await openStore({ dir });
    await store.recordMany(
      Array.from({ length: 30 }, (_, i) => ({
        kind: 'failure' as const,
        title: `failure ${i} ü 🚀`,
        domain: 'ops',
      })),
    );
    await store.recordHeuristic({ rule: 'a rule', domain: 'ops' });
    await store.close();
    const folder = path.join(dir, 'failures');
    const month = path.join(folder, fs.readdirSync(folder)[0]!);
    // A file named with a newline, a link, a fifo, an empty folder, a temp file.
    fs.writeFileSync(path.join(month, 'odd\nname.md'), 'x');
    fs.symlinkSync('/etc/hostname', path.join(month, 'link.md'));
    execFileSync('mkfifo', [path.join(month, 'pipe.md')]);
    fs.mkdirSync(path.join(folder, 'empty'));
    fs.writeFileSync(path.join(month, 'r.md.tmp-1-ab'), 'partial');
    // A record root that is itself a link is reported as one, never walked into.
    const elsewhere = tempDir();
    fs.writeFileSync(path.join(elsewhere, 'outside.md'), 'y');
    fs.symlinkSync(elsewhere, path.join(dir, 'events'));

    const inPlace = walkRecordFolders(dir);
    const packed = packedWalk(dir);
    // What crosses: a string and three buffers of their own, each transferable.
    for (const buffer of [packed.kinds, packed.mtimes, packed.stats])
      expect(buffer.byteLength).toBe(buffer.buffer.byteLength);
    const unpacked = unpackWalk(structuredClone(packed));
    expect(unpacked).toEqual(inPlace);
    expect(inPlace.size).toBe(31 + 4 + 1);
    expect(inPlace.get('events')?.kind).toBe('link');
    expect([...inPlace.keys()].some((p) => p.startsWith('events/'))).toBe(false);
    expect(inPlace.get(`${path.relative(dir, month)}/pipe.md`)?.kind).toBe('other');
    expect(inPlace.get(`${path.relative(dir, month)}/odd\nname.md`)?.kind).toBe('file');

    // verify --deep's walk: the files it names (every path here, as if HEAD held them all)
    // are taken as their folder lists them, without an lstat: the same entries and kinds,
    // mtime 0 and no stat data for the regular files only. A link, a fifo or a folder in place
    // of a named file is still looked at.
    const unstated = walkRecordFolders(dir, () => true);
    expect([...unstated.keys()]).toEqual([...inPlace.keys()]);
    for (const [p, seen] of inPlace) {
      const light = unstated.get(p)!;
      expect(light.kind, p).toBe(seen.kind);
      expect(light.mtimeNs, p).toBe(seen.kind === 'file' ? 0n : seen.mtimeNs);
      expect(light.stat, p).toBe(seen.kind === 'file' ? '' : seen.stat);
    }
    // Files it does not name keep their lstat: cleanup ages untracked and temp files by it.
    const temp = `${path.relative(dir, month)}/r.md.tmp-1-ab`;
    const some = walkRecordFolders(dir, (p) => p !== temp);
    expect(some.get(temp)).toEqual(inPlace.get(temp));
    expect(some.get(temp)!.mtimeNs).toBeGreaterThan(0n);
  });
});
