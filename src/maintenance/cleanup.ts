// `lessons cleanup`: reconcile the store to HEAD, under the writers' lock, after recovery.
// Rows are rebuilt or removed, tracked files restored, valid edits of tracked records committed
// as an update (a person made them), untracked and temp files older than the grace period moved
// aside. Every byte removed or overwritten goes to quarantine first. The plan is made from a
// survey (the same as verify's), so --dry-run shows exactly what a real run would do.

import fs from 'node:fs';
import path from 'node:path';
import { rowFromRecord, type RecordRow } from '../db/database.js';
import { hashObject, sha256 } from '../git/hash.js';
import { entryFromStat } from '../git/index-file.js';
import { eventRow } from '../db/database.js';
import { refold } from '../db/refold.js';
import { isEventPath, parseEvent } from '../record/event.js';
import { parseRecord } from '../record/markdown.js';
import type { RenderedRecord } from '../record/types.js';
import { liveness } from '../resources/owner.js';
import type { WriteContext } from '../participants/types.js';
import { recordTarget } from '../resources/layout.js';
import { mkdirDurable, writeFileAtomic } from '../util/durable.js';
import type { Finding, FindingCode } from './findings.js';
import { Quarantine } from '../resources/quarantine.js';
import { attributeCommits } from '../db/rebuild.js';
import { rowFields, scanGroups } from '../record/secrets.js';
import { requireStore, surveyStore, TEMP_FILE, type Survey } from './verify.js';
import { commitMessage } from '../txn/message.js';
import type { RecoveryAction } from '../txn/recovery.js';
import type { Writer } from '../txn/writer.js';
import { GitRepository } from '../git/repository.js';
import { currentIdentity } from '../resources/owner.js';
import type { OnProgress } from '../util/progress.js';
import { moveAsideUnreadableIndex } from './reindex.js';

export const DEFAULT_GRACE_MS = 10 * 60_000;

export type CleanupVerb =
  | 'rebuild-row'
  | 'remove-row'
  | 'restore-file'
  | 'adopt-edit'
  | 'quarantine-file'
  | 'quarantine-link'
  | 'rebuild-git-index'
  | 'rewrite-object'
  | 'rebuild-sqlite'
  | 'defer'
  | 'none';

export interface CleanupAction {
  readonly code: FindingCode;
  readonly verb: CleanupVerb;
  readonly path?: string;
  readonly id?: string;
  readonly detail: string;
}

export interface PlanOptions {
  readonly graceMs: number;
  readonly now: Date;
  readonly host: string;
}

/** What cleanup would do about each finding. Pure: reads only file ages. */
export function planCleanup(survey: Survey, options: PlanOptions): CleanupAction[] {
  return survey.findings.map((f) => planOne(survey, f, options));
}

function planOne(survey: Survey, f: Finding, options: PlanOptions): CleanupAction {
  const at = {
    ...(f.path === undefined ? {} : { path: f.path }),
    ...(f.id === undefined ? {} : { id: f.id }),
  };
  const act = (verb: CleanupVerb, detail: string): CleanupAction => ({
    code: f.code,
    verb,
    ...at,
    detail,
  });
  switch (f.code) {
    case 'ROW_MISSING':
    case 'BLOB_MISMATCH':
      return act('rebuild-row', 'rebuild the row from the committed file');
    case 'FOLD_MISMATCH':
      return act('rebuild-row', 'fold the events into the row again');
    case 'EVENT_TARGET_MISSING':
      return act(
        'none',
        'cannot repair: the record the event changes is not at HEAD; restore it (git) or remove the event (git rm)',
      );
    case 'ROW_ORPHAN':
      return act('remove-row', 'remove the row (kept in quarantine as JSON)');
    case 'FILE_MISSING':
      return act('restore-file', 'restore the file from HEAD');
    case 'FILE_UNPARSEABLE':
      return act('restore-file', 'quarantine the file and restore the committed version');
    case 'FIELD_MISMATCH':
      return survey.files.has(f.path!) && survey.tree.has(f.path!) && isFileSide(f)
        ? act('restore-file', 'quarantine the edited file and restore the committed version')
        : act('rebuild-row', 'rewrite the row from the committed file');
    case 'FILE_MODIFIED':
      return act('adopt-edit', 'commit the edit as an update and rewrite the row');
    case 'FILE_UNTRACKED':
    case 'TEMP_FILE': {
      const file = survey.files.get(f.path!);
      const age =
        file === undefined ? 0 : options.now.getTime() - Number(file.mtimeNs / 1_000_000n);
      const writer = TEMP_FILE.exec(f.path!)?.[1];
      const writerDead =
        writer !== undefined && liveness({ pid: Number(writer), host: options.host }) === 'dead';
      return age >= options.graceMs || writerDead
        ? act('quarantine-file', 'move the file to quarantine')
        : act('defer', `younger than the grace period (${Math.round(age / 1000)} s old)`);
    }
    case 'GIT_INDEX_STALE':
      return act(
        'rebuild-git-index',
        'rebuild .git/index from HEAD (old index kept in quarantine)',
      );
    case 'GIT_OBJECT_CORRUPT': {
      const oid = objectId(f);
      const source =
        oid === undefined ? undefined : [...survey.tree].find(([, o]) => o === oid)?.[0];
      return source === undefined
        ? act(
            'none',
            'cannot repair: restore the object from a clone or backup of the store (`git fsck` names it), then run cleanup again',
          )
        : act('rewrite-object', `rewrite the object from ${source}, whose bytes are intact`);
    }
    case 'SQLITE_CORRUPT':
    case 'INDEX_NOT_A_FILE':
      return act('rebuild-sqlite', 'quarantine index.db and rebuild it from HEAD');
    case 'JOURNAL_PENDING':
      return act('none', 'recovery runs first and finishes or undoes it');
    case 'STORE_SYMLINK':
      return act(
        'quarantine-link',
        'move the link itself (never what it points to) to quarantine; the files HEAD holds under it are restored',
      );
    case 'SECRET_IN_HISTORY':
      return act(
        'none',
        'rotate the secret; then remove it from the record (cleanup commits a valid edit) or rewrite the history',
      );
    case 'STORE_WRONG_BRANCH':
      return act('none', 'check out main in the store; lessons does not change branches');
    case 'SYNC_CONFLICT':
      return act('none', 'a person decides which version stays, then runs `lessons resolve <id>`');
    case 'REMOTE_UNREACHABLE':
    case 'REMOTE_UNPARSEABLE':
      return act('none', "the remote's, not this store's: fix it where the remote is written");
  }
}

function isFileSide(f: Finding): boolean {
  return f.message.includes('was edited to another identity');
}

function objectId(f: Finding): string | undefined {
  const match = /objects\/([0-9a-f]{2})\/([0-9a-f]{38})$/.exec(f.path ?? '');
  return match === null ? undefined : `${match[1]}${match[2]}`;
}

/** Carry out a plan under the writers' lock. Returns what was done. */
export async function executeCleanup(
  ctx: WriteContext,
  survey: Survey,
  plan: readonly CleanupAction[],
  quarantine: Quarantine,
  now: Date,
): Promise<CleanupAction[]> {
  const { repo, db, layout } = ctx;
  const head = survey.head;
  const done: CleanupAction[] = [];
  const absolute = (p: string): string => path.join(layout.dir, p);
  const committedBytes = async (p: string): Promise<Buffer> =>
    repo.objects.readTyped(survey.tree.get(p)!, 'blob');

  // Objects first: restoring files and rows reads them.
  for (const action of plan.filter((a) => a.verb === 'rewrite-object')) {
    const oid = objectId({ path: action.path } as Finding)!;
    const source = [...survey.tree].find(([, o]) => o === oid)![0];
    const content = fs.readFileSync(absolute(source));
    if (hashObject('blob', content) !== oid) continue;
    const loose = path.join(repo.objects.objectsDir, oid.slice(0, 2), oid.slice(2));
    if (fs.existsSync(loose)) quarantine.moveIn(loose, `corrupt git object ${oid}`);
    repo.objects.write('blob', content);
    repo.objects.syncDirs();
    done.push(action);
  }

  // Links next: the files HEAD holds under one are restored into a real folder in its place.
  for (const action of plan.filter((a) => a.verb === 'quarantine-link')) {
    quarantine.moveIn(action.path!, `${action.code}: a symbolic link in a record folder`);
    done.push(action);
  }

  const restored: string[] = [];
  const rows: RecordRow[] = [];
  const adopt: RenderedRecord[] = [];
  for (const action of plan) {
    const p = action.path!;
    switch (action.verb) {
      case 'restore-file': {
        const bytes = await committedBytes(p);
        // Never through a link: recordTarget refuses one anywhere on the path.
        const target = recordTarget(layout, p);
        if (fs.existsSync(target))
          quarantine.copyIn(
            p,
            fs.readFileSync(target),
            `${action.code}: replaced by HEAD's version`,
          );
        mkdirDurable(path.dirname(target));
        writeFileAtomic(target, bytes);
        restored.push(p);
        if (action.code === 'FIELD_MISMATCH') {
          const row = db.rowByPath(p);
          if (row !== undefined) rows.push(row);
        }
        break;
      }
      case 'quarantine-file':
        quarantine.moveIn(p, `${action.code}: not part of any commit`);
        break;
      case 'adopt-edit': {
        const content = fs.readFileSync(absolute(p));
        const record = parseRecord(content);
        // A person's edit is committed only if it holds no secret: history does not forget.
        const [secrets] = await scanGroups([rowFields(rowFromRecord(record, p, '', '', ''))]);
        if (secrets!.length > 0) {
          const s = secrets![0]!;
          done.push({
            ...action,
            verb: 'none',
            detail: `not committed: the edit holds a secret (${s.kind}, rule ${s.rule}, ${s.field} line ${s.line}: ${s.masked}); remove it and run cleanup again`,
          });
          continue;
        }
        adopt.push({
          record,
          path: p,
          content,
          blobOid: hashObject('blob', content),
          sha256: sha256(content),
        });
        break;
      }
      case 'remove-row': {
        const event = db.db.prepare('SELECT * FROM events WHERE path = ?').get(p) as
          { id: string; target: string } | undefined;
        if (event !== undefined) {
          quarantine.copyIn(
            `rows/${event.id}.json`,
            Buffer.from(`${JSON.stringify(event, null, 2)}\n`),
            `${action.code}: event row not in HEAD`,
          );
          db.begin();
          try {
            db.db.prepare('DELETE FROM events WHERE path = ?').run(p);
            if (db.rowById(event.target) !== undefined) await refold(db, repo, event.target);
            db.commit();
          } catch (error) {
            db.rollback();
            throw error;
          }
        }
        const row = db.rowByPath(p);
        if (row !== undefined) {
          quarantine.copyIn(
            `rows/${row.id}.json`,
            Buffer.from(`${JSON.stringify(row, null, 2)}\n`),
            `${action.code}: row not in HEAD`,
          );
          db.deleteByPath(p);
        }
        break;
      }
      default:
        continue;
    }
    done.push(action);
  }

  // Rows that must match HEAD's blobs.
  const rebuild = plan.filter(
    (a) => a.verb === 'rebuild-row' || (a.verb === 'restore-file' && a.code === 'FIELD_MISMATCH'),
  );
  if (rebuild.length > 0 && head !== undefined) {
    const ids = new Map<string, string>();
    const records = new Map<string, ReturnType<typeof parseRecord>>();
    const events = new Map<string, ReturnType<typeof parseEvent>>();
    for (const action of new Set(rebuild.map((a) => a.path!))) {
      const bytes = await committedBytes(action);
      const item = isEventPath(action) ? parseEvent(bytes) : parseRecord(bytes);
      if (item.kind === 'event') events.set(action, item);
      else records.set(action, item);
      ids.set(action, item.id);
    }
    const commits = await attributeCommits(repo, head, ids);
    db.begin();
    try {
      const targets = new Set<string>();
      for (const [p, record] of records) {
        db.replace(rowFromRecord(record, p, survey.tree.get(p)!, 'cleanup', commits.get(p)!));
        targets.add(record.id);
      }
      for (const [p, event] of events) {
        db.db.prepare('DELETE FROM events WHERE path = ? OR id = ?').run(p, event.id);
        db.insertEvent(eventRow(event, p, survey.tree.get(p)!, 'cleanup', commits.get(p)!));
        targets.add(event.target);
      }
      // A rewritten row starts from its file: its events are folded in again.
      for (const target of targets)
        if (db.rowById(target) !== undefined) await refold(db, repo, target);
      db.commit();
    } catch (error) {
      db.rollback();
      throw error;
    }
    for (const action of plan.filter((a) => a.verb === 'rebuild-row')) done.push(action);
  }

  let tree: string | undefined;
  let newHead = head;
  if (adopt.length > 0) {
    const txid = `cleanup-${now.getTime().toString(36)}-${process.pid}`;
    const written = await repo.writeCommit({
      parent: head,
      changes: adopt.map((r) => ({ path: r.path, blobOid: r.blobOid })),
      blobs: new Map(adopt.map((r) => [r.blobOid, r.content] as const)),
      message: commitMessage(
        adopt,
        txid,
        `lessons: adopt edits to ${adopt.length} record${adopt.length === 1 ? '' : 's'}`,
      ),
      author: ctx.author,
      time: Math.floor(now.getTime() / 1000),
    });
    await ctx.gitIndex.acquire(ctx.deadline, async (index) => {
      ctx.lock.assertHeld();
      await repo.moveMainWaiting(head, written.commit, ctx.deadline);
      newHead = written.commit;
      tree = written.tree;
      const entries = adopt.map((r) =>
        entryFromStat(r.path, r.blobOid, fs.lstatSync(absolute(r.path), { bigint: true })),
      );
      index.stage(await repo.nextIndex(index.current, entries, [], written.tree));
    });
    db.begin();
    try {
      for (const r of adopt) {
        if (r.record.kind === 'event') continue; // events are never adopted (classifyEdit)
        db.replace(rowFromRecord(r.record, r.path, r.blobOid, txid, written.commit));
        await refold(db, repo, r.record.id);
      }
      db.commit();
    } catch (error) {
      db.rollback();
      throw error;
    }
  }

  const indexAction = plan.find((a) => a.verb === 'rebuild-git-index');
  if ((indexAction !== undefined || restored.length > 0) && newHead !== undefined) {
    tree ??= (await repo.headTree())!;
    const headTree = tree;
    await ctx.gitIndex.acquire(ctx.deadline, async (index) => {
      if (indexAction !== undefined) {
        if (index.current !== undefined)
          quarantine.copyIn('.git/index', index.current, 'GIT_INDEX_STALE: rebuilt from HEAD');
        index.stage(await repo.buildIndex(headTree));
      } else {
        const entries = restored.map((p) =>
          entryFromStat(p, survey.tree.get(p)!, fs.lstatSync(absolute(p), { bigint: true })),
        );
        index.stage(await repo.nextIndex(index.current, entries, [], headTree));
      }
    });
    if (indexAction !== undefined) done.push(indexAction);
  }
  return done;
}

/** Paths a plan leaves alone on purpose (inside the grace period). */
export function deferredPaths(plan: readonly CleanupAction[]): Set<string> {
  return new Set(plan.filter((a) => a.verb === 'defer').map((a) => a.path!));
}

export interface CleanupOptions {
  readonly dryRun?: boolean | undefined;
  /** Untracked files younger than this are left alone. @default 10 minutes */
  readonly graceMs?: number | undefined;
  /** Also re-hash every object (and repair blobs whose files are intact). */
  readonly deep?: boolean | undefined;
  readonly onProgress?: OnProgress | undefined;
}

export interface CleanupReport {
  /** The store is clean afterwards (files deferred by the grace period aside). */
  readonly ok: boolean;
  readonly dryRun: boolean;
  readonly recovered: readonly RecoveryAction[];
  /** What was done (or, with dryRun, what would be). */
  readonly actions: readonly CleanupAction[];
  /** Findings left that cleanup could not repair (with dryRun: every finding). */
  readonly remaining: readonly Finding[];
  /** The quarantine folder of this run, relative to the store, when something was moved. */
  readonly quarantine: string | null;
}

/**
 * `lessons cleanup`: reconcile the store to HEAD (see docs/operations.md), under the writers'
 * lock, after recovery. With `dryRun`, only report the plan: no lock, no recovery, nothing
 * changed.
 */
export async function cleanupStore(
  writer: Writer,
  options: CleanupOptions = {},
): Promise<CleanupReport> {
  const layout = requireStore(writer.layout.dir);
  const now = writer.now();
  const planOptions = {
    graceMs: options.graceMs ?? DEFAULT_GRACE_MS,
    now,
    host: currentIdentity().host,
  };
  const surveyOptions = {
    staleMs: writer.staleMs,
    deep: options.deep,
    onProgress: options.onProgress,
  };
  if (options.dryRun === true) {
    const survey = await surveyStore(layout, surveyOptions);
    const plan = planCleanup(survey, planOptions);
    return {
      // As for a real run: ok when nothing but files inside the grace period is left.
      ok: plan.every((a) => a.verb === 'defer'),
      dryRun: true,
      recovered: [],
      actions: plan,
      remaining: survey.findings,
      quarantine: null,
    };
  }
  const quarantine = new Quarantine(layout, now);
  const done: CleanupAction[] = [];
  return writer.run(
    async (ctx, recovery) => {
      const survey = await surveyStore(layout, surveyOptions);
      const plan = planCleanup(survey, planOptions);
      done.push(...(await executeCleanup(ctx, survey, plan, quarantine, now)));
      const deferred = deferredPaths(plan);
      const after = await surveyStore(layout, { staleMs: writer.staleMs });
      const remaining = after.findings.filter((f) => f.path === undefined || !deferred.has(f.path));
      return {
        ok: remaining.length === 0,
        dryRun: false,
        recovered: recovery.actions,
        actions: [...done, ...plan.filter((a) => a.verb === 'defer')],
        remaining,
        quarantine:
          quarantine.moved.length === 0 ? null : path.relative(layout.dir, quarantine.dir),
      };
    },
    {
      // Before the session: it would open index.db, and build a .git/index that is missing.
      beforeSession: () => {
        const problem = moveAsideUnreadableIndex(writer, quarantine);
        if (problem !== undefined)
          done.push({
            code: problem.code,
            verb: 'rebuild-sqlite',
            path: 'index.db',
            detail: `index.db was unreadable (${problem.message}); rebuilt from HEAD`,
          });
        if (
          !fs.existsSync(path.join(layout.gitdir, 'index')) &&
          new GitRepository(layout.dir).head() !== undefined
        )
          done.push({
            code: 'GIT_INDEX_STALE',
            verb: 'rebuild-git-index',
            path: '.git/index',
            detail: '.git/index was missing; rebuilt from HEAD',
          });
      },
    },
  );
}
