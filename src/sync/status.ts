// `lessons verify --remote NAME`: how far the store and a remote's main have drifted apart,
// and whether what the remote would bring in parses. It fetches (the remote-tracking ref and
// objects, never main), then reads the remote's new commits through the user's git; nothing
// of the store's own state is written.

import { readRef, MAIN_REF } from '../git/refs.js';
import { isRecordPath, RECORD_ROOTS } from '../record/paths.js';
import { parseItem } from '../record/stored.js';
import { SyncError } from '../errors/index.js';
import { finding, type Finding } from '../maintenance/findings.js';
import { trackingRef } from './integrate.js';
import { NativeGit } from './native.js';
import { fetchMain, requireRemote } from './sync.js';

/** A file in the remote's new history that a sync would refuse or could not index. */
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
  /** Files those commits add or change. */
  readonly incoming: number;
  readonly problems: readonly IncomingProblem[];
  /** Why the remote could not be fetched (then ahead/behind are unknown: 0). */
  readonly unreachable?: string;
}

/** Top-level names a lessons history never holds: the tool's own places. */
function ownPlace(p: string): boolean {
  const top = p.split('/')[0]!;
  return top === '.git' || top === '.lessons' || top.startsWith('index.db');
}

/** `git log --raw` of the commits in `range`: each added or changed file with its blob. */
async function incomingFiles(
  git: NativeGit,
  range: readonly string[],
): Promise<{ commit: string; path: string; mode: string; blob: string }[]> {
  const out = await git.check([
    'log',
    '-m',
    '--root',
    '--raw',
    '--no-abbrev',
    '--no-renames',
    '--format=%x00%H',
    ...range,
  ]);
  const files: { commit: string; path: string; mode: string; blob: string }[] = [];
  let commit = '';
  for (const line of out.split('\n')) {
    if (line.startsWith('\u0000')) commit = line.slice(1);
    const m = /^:\d+ (\d+) [0-9a-f]+ ([0-9a-f]+) ([AMT])\t(.*)$/.exec(line);
    if (m !== null) files.push({ commit, mode: m[1]!, blob: m[2]!, path: m[4]! });
  }
  return files;
}

/** Why a file the remote brings would not be a healthy part of the store, or undefined. */
function problemWith(path: string, mode: string, content: Buffer | undefined): string | undefined {
  if (ownPlace(path)) return 'lessons keeps its own files at this path: a sync refuses it';
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
  const base = { remote, url, fetched, head };
  if (unreachable !== undefined)
    return { ...base, ahead: 0, behind: 0, incoming: 0, problems: [], unreachable };
  if (fetched === null || head === null) {
    const ahead = head === null ? 0 : (await git.newCommits(head, undefined)).length;
    const behind = fetched === null ? 0 : (await git.newCommits(fetched, undefined)).length;
    const files = fetched === null ? [] : await incomingFiles(git, [fetched]);
    return { ...base, ahead, behind, incoming: files.length, problems: await check(git, files) };
  }
  const [ahead, behind] = await Promise.all([
    git.newCommits(head, fetched),
    git.newCommits(fetched, head),
  ]);
  const files = behind.length === 0 ? [] : await incomingFiles(git, [fetched, `^${head}`]);
  return {
    ...base,
    ahead: ahead.length,
    behind: behind.length,
    incoming: new Set(files.map((f) => f.path)).size,
    problems: await check(git, files),
  };
}

async function check(
  git: NativeGit,
  files: readonly { commit: string; path: string; mode: string; blob: string }[],
): Promise<IncomingProblem[]> {
  const parsed = files.filter(
    (f) => isRecordPath(f.path) && (f.mode === '100644' || f.mode === '100755'),
  );
  const blobs = await git.readBlobs(parsed.map((f) => f.blob));
  const problems: IncomingProblem[] = [];
  const seen = new Set<string>();
  for (const f of files) {
    const reason = problemWith(f.path, f.mode, blobs.get(f.blob));
    const key = `${f.path}\u0000${f.blob}`;
    if (reason === undefined || seen.has(key)) continue;
    seen.add(key);
    problems.push({ commit: f.commit, path: f.path, reason });
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
