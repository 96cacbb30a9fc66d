// The read thread's body (see read-thread.ts): take the next chunk nobody has taken, read and
// parse its files and answer with them, until none is left.

import { parentPort, workerData } from 'node:worker_threads';
import { readChunk, takeChunk, type ReadReply, type ReadRequest } from './read-thread.js';

const { workdir, files, chunk, taken } = workerData as ReadRequest;
const counter = new Int32Array(taken);
const chunks = Math.ceil(files.length / chunk);
try {
  for (let index = takeChunk(counter); index < chunks; index = takeChunk(counter)) {
    const reply: ReadReply = {
      kind: 'chunk',
      index,
      answers: readChunk(workdir, files, chunk, index),
    };
    parentPort!.postMessage(reply);
  }
} catch (error) {
  const reply: ReadReply = {
    kind: 'failed',
    message: error instanceof Error ? error.message : String(error),
  };
  parentPort!.postMessage(reply);
}
