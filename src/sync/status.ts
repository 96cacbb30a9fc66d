// `lessons verify --remote NAME`: how far the store and a remote's main have drifted apart,
// and whether what a sync would bring in (the remote's changes since the merge base) parses.
// It fetches (the remote-tracking ref and objects, never main), then reads the remote's side
// through the user's git; nothing of the store's own state is written.

import { readRef, MAIN_REF } from '../git/refs.js';
import { isRecordPath, RECORD_ROOTS } from '../record/paths.js';
import { parseItem } from '../record/stored.js';
import { SyncError } from '../errors/index.js';
import { finding, type Finding } from '../maintenance/findings.js';
import { forbidden, trackingRef } from './integrate.js';
import { NativeGit } from './native.js';
import { fetchMain, requireRemote } from './sync.js';

/** A file a sync would bring in that it would refuse or could not index. */
export interface IncomingProblem {
  /** The remote's commit that brought the file. */
  readonly commit: string;
  readonly path: string;
  readonly reason: string;
}

export interface RemoteStatus {
  readonly remote: string;
  readonly url: string;
  /** The remote's main as just fetched (null: it has none, or it could not be fetched). */
  readonly fetched: string | null;
  /** The store's main. */
  readonly head: string | null;
  /** Commits on the store's main the remote lacks (what a sync would push). */
  readonly ahead: number;
  /** Commits on the remote's main the store lacks (what a sync would bring in). */
  readonly behind: number;
  /** Files a sync would bring in: what the remote's main added or changed since the merge base. */
  readonly incoming: number;
  readonly problems: readonly IncomingProblem[];
  /** Why the remote could not be fetched (then ahead/behind are unknown: 0). */
  readonly unreachable?: string;
}

/** git's empty tree, which every git knows without storing it. */
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

interface IncomingFile {
  readonly path: string;
  readonly mode: string;
  readonly blob: string;
}

/**
 * The files the remote's main adds or changes since `base` (its merge base with the store's
 * main, or nothing): what a sync would bring in, whatever happened to them on the way.
 */
async function incomingFiles(
  git: NativeGit,
  base: string | undefined,
  fetched: string,
): Promise<IncomingFile[]> {
  const out = await git.check([
    'diff',
    '--raw',
    '-z',
    '--no-renames',
    '--no-abbrev',
    base ?? EMPTY_TREE,
    fetched,
  ]);
  // -z: ":<old mode> <new mode> <old blob> <new blob> <status>" NUL "<path>" NUL, paths verbatim.
  const tokens = out.split('\0');
  const files: IncomingFile[] = [];
  for (let i = 0; i + 1 < tokens.length; i += 2) {
    const m = /^:\d+ (\d+) [0-9a-f]+ ([0-9a-f]+) ([AMT])/.exec(tokens[i]!);
    if (m !== null) files.push({ mode: m[1]!, blob: m[2]!, path: tokens[i + 1]! });
  }
  return files;
}

/** The newest of the remote's new commits that changed `file` (for the report). */
async function broughtBy(
  git: NativeGit,
  fetched: string,
  head: string | null,
  file: string,
): Promise<string> {
  const out = await git.check([
    '--literal-pathspecs',
    'log',
    '-1',
    '--format=%H',
    fetched,
    ...(head === null ? [] : [`^${head}`]),
    '--',
    file,
  ]);
  return out.trim() || fetched;
}

/** Why a file the remote brings would not be a healthy part of the store, or undefined. */
function problemWith(path: string, mode: string, content: Buffer | undefined): string | undefined {
  if (forbidden(path)) return 'lessons keeps its own files at this path: a sync refuses it';
  if (mode !== '100644' && mode !== '100755')
    return `${mode === '120000' ? 'a symbolic link' : `mode ${mode}`}: a sync refuses anything but plain files`;
  const root = path.split('/')[0]!;
  if (!(RECORD_ROOTS as readonly string[]).includes(root)) return undefined;
  if (!isRecordPath(path)) return 'not a Markdown record in a record folder';
  try {
    parseItem(path, content ?? Buffer.alloc(0));
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Fetch `remote` and compare its main with the store's. REMOTE_UNKNOWN when there is none. */
export async function remoteStatus(
  dir: string,
  gitdir: string,
  remote: string,
): Promise<RemoteStatus> {
  const git = new NativeGit(dir);
  const url = await requireRemote(git, remote);
  const head = readRef(gitdir, MAIN_REF) ?? null;
  let unreachable: string | undefined;
  try {
    await fetchMain(git, remote);
  } catch (error) {
    if (!(error instanceof SyncError)) throw error;
    unreachable = error.message;
  }
  const fetched = unreachable === undefined ? (readRef(gitdir, trackingRef(remote)) ?? null) : null;
  const known = { remote, url, fetched, head };
  if (unreachable !== undefined)
    return { ...known, ahead: 0, behind: 0, incoming: 0, problems: [], unreachable };
  const [ahead, behind] = await Promise.all([
    head === null ? [] : git.newCommits(head, fetched ?? undefined),
    fetched === null ? [] : git.newCommits(fetched, head ?? undefined),
  ]);
  const files =
    fetched === null || behind.length === 0
      ? []
      : await incomingFiles(
          git,
          head === null ? undefined : await git.mergeBase(head, fetched),
          fetched,
        );
  return {
    ...known,
    ahead: ahead.length,
    behind: behind.length,
    incoming: files.length,
    problems: fetched === null ? [] : await check(git, fetched, head, files),
  };
}

async function check(
  git: NativeGit,
  fetched: string,
  head: string | null,
  files: readonly IncomingFile[],
): Promise<IncomingProblem[]> {
  const parsed = files.filter(
    (f) => isRecordPath(f.path) && (f.mode === '100644' || f.mode === '100755'),
  );
  const blobs = await git.readBlobs(parsed.map((f) => f.blob));
  const problems: IncomingProblem[] = [];
  for (const f of files) {
    const reason = problemWith(f.path, f.mode, blobs.get(f.blob));
    if (reason !== undefined)
      problems.push({ commit: await broughtBy(git, fetched, head, f.path), path: f.path, reason });
  }
  return problems;
}

/** What verify reports about a remote: its unreachability, and every file that would not parse. */
export function remoteFindings(status: RemoteStatus): Finding[] {
  if (status.unreachable !== undefined)
    return [
      finding('REMOTE_UNREACHABLE', `${status.remote} (${status.url}): ${status.unreachable}`),
    ];
  return status.problems.map((p) =>
    finding(
      'REMOTE_UNPARSEABLE',
      `${status.remote}'s commit ${p.commit.slice(0, 12)} brings ${p.path}: ${p.reason}`,
      { path: p.path },
    ),
  );
}
