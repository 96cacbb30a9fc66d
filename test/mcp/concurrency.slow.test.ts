import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startMcp, structured } from '../helpers/mcp.js';
import { consistencyProblems, git, lessons, storeState, tempStore } from '../helpers/store.js';

describe('lessons mcp beside other writers', () => {
  it('several servers on one store, recording at once, store every record in all three stores', async () => {
    const dir = tempStore();
    const servers = await Promise.all(Array.from({ length: 4 }, () => startMcp(dir)));
    const perServer = 5;
    const results = await Promise.all(
      servers.map(async (mcp, s) => {
        const out: Record<string, unknown>[] = [];
        for (let r = 0; r < perServer; r++) {
          const tool = r % 2 === 0 ? 'record_failure' : 'record_heuristic';
          const title = `server ${s} record ${r}`;
          const args =
            tool === 'record_failure'
              ? { title, domain: 'parallel' }
              : { rule: title, domain: 'parallel' };
          out.push(structured(await mcp.call(tool, args)));
        }
        return out;
      }),
    );
    const all = results.flat();
    expect(all.filter((r) => r.ok === true)).toHaveLength(servers.length * perServer);
    const state = storeState(dir);
    expect(state.rows).toHaveLength(servers.length * perServer);
    expect(new Set(state.rows.map((r) => r.id))).toEqual(new Set(all.map((r) => r.id)));
    for (const r of all) {
      expect(state.files[r.path as string]).toBeDefined();
      expect(state.tree[r.path as string]).toBe(state.files[r.path as string]);
    }
    // One commit per record, on top of the store's first commit.
    expect(state.commits).toBe(servers.length * perServer + 1);
    expect(consistencyProblems(dir)).toEqual([]);
    expect((await lessons(['--dir', dir, 'verify'])).code).toBe(0);
    // Every server sees every record.
    for (const mcp of servers)
      expect(structured(await mcp.call('list', { limit: 1000 })).count).toBe(all.length);
  });

  it('keeps serving the truth across CLI writers, reindex, cleanup and native git between calls', async () => {
    const dir = tempStore();
    const mcp = await startMcp(dir);
    const other = await startMcp(dir);
    const record = async (title: string) => {
      const result = structured(await mcp.call('record_failure', { title, domain: 'life' }));
      expect(result).toMatchObject({ ok: true });
      return result;
    };
    const titles = async () =>
      (structured(await mcp.call('list', { limit: 1000 })).records as { title: string }[]).map(
        (r) => r.title,
      );

    await record('first by mcp');
    // Another writer (the CLI) in between: the next read sees it, the next write follows it.
    const cli = await lessons([
      '--dir',
      dir,
      '--json',
      'record-failure',
      '--title',
      'by the cli',
      '--domain',
      'life',
    ]);
    expect(cli.code).toBe(0);
    expect(await titles()).toEqual(['by the cli', 'first by mcp']);
    const afterCli = await record('after the cli');
    expect(git(dir, 'rev-parse', `${String(afterCli.commit)}^`).trim()).toBe(cli.json!.commit);

    // reindex replaces index.db (a new file): both servers read and write the new one.
    await other.call('search', { text: 'cli' });
    expect((await lessons(['--dir', dir, 'reindex'])).code).toBe(0);
    expect((await titles()).length).toBe(3);
    await record('after reindex');
    expect(
      structured(
        await other.call('record_failure', { title: 'other after reindex', domain: 'life' }),
      ).ok,
    ).toBe(true);
    expect(consistencyProblems(dir)).toEqual([]);

    // cleanup, with a hand edit and a stray file for it to deal with.
    const edited = storeState(dir).rows.find((r) => r.title === 'by the cli')!;
    fs.appendFileSync(path.join(dir, edited.path), '\nA note added by hand.\n');
    expect((await lessons(['--dir', dir, 'cleanup', '--grace', '0s'])).code).toBe(0);
    const shown = structured(await mcp.call('show', { ref: edited.id }));
    expect((shown.record as { body: string }).body).toContain('A note added by hand.');
    await record('after cleanup');

    // Native git: a commit of a file of its own, gc (packs objects and refs), status.
    fs.writeFileSync(path.join(dir, 'NOTES.md'), 'kept by people\n');
    git(dir, 'add', 'NOTES.md');
    git(dir, 'commit', '-q', '-m', 'notes by hand');
    const nativeHead = git(dir, 'rev-parse', 'HEAD').trim();
    git(dir, 'gc', '-q', '--aggressive', '--prune=now');
    git(dir, 'status', '--porcelain');
    const stats = structured(await mcp.call('stats'));
    expect(stats.lastCommit).toMatchObject({ id: nativeHead, subject: 'notes by hand' });
    const afterGit = await record('after native git');
    expect(git(dir, 'rev-parse', `${String(afterGit.commit)}^`).trim()).toBe(nativeHead);
    expect(git(dir, 'show', `${String(afterGit.commit)}:NOTES.md`)).toBe('kept by people\n');

    // index.db deleted outright: the next write rebuilds it from HEAD.
    for (const suffix of ['', '-wal', '-shm'])
      fs.rmSync(path.join(dir, `index.db${suffix}`), { force: true });
    await record('after index.db was deleted');
    expect(await titles()).toHaveLength(8);
    expect(structured(await other.call('list', { limit: 1000 })).count).toBe(8);

    expect(consistencyProblems(dir)).toEqual([]);
    expect((await lessons(['--dir', dir, 'verify'])).code).toBe(0);
  });
});
