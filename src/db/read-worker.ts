// The read thread's body (see read-thread.ts): read and parse each file it was given, in order,
// and answer once with all of them.

import { parentPort, workerData } from 'node:worker_threads';
import {
  readWorkingItem,
  type FileAnswer,
  type ReadReply,
  type ReadRequest,
} from './read-thread.js';

function run({ workdir, files }: ReadRequest): ReadReply {
  try {
    const answers: FileAnswer[] = [];
    for (const [path, blob] of files) answers.push(readWorkingItem(workdir, path, blob));
    return { kind: 'answers', answers };
  } catch (error) {
    return { kind: 'failed', message: error instanceof Error ? error.message : String(error) };
  }
}

parentPort!.postMessage(run(workerData as ReadRequest));
