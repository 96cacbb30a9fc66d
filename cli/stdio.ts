// stdout and stderr for the commands. By default they are Node's streams. The record fast path
// (fast.ts) switches to writing the file descriptors directly: creating `process.stdout` builds
// a net.Socket for a pipe (a SyncWriteStream for a file) and loads about 25 built-in modules,
// some 4 ms of a cold record, to print three lines. Only that path switches, and before it
// prints anything, so one process never mixes the two ways and the order of lines holds.

import fs from 'node:fs';

let direct = false;

/** From now on, write with `fs.writeSync` (the record fast path). */
export function writeDirectly(): void {
  direct = true;
}

export function writeOut(text: string): void {
  write(1, text);
}

export function writeErr(text: string): void {
  write(2, text);
}

function write(fd: 1 | 2, text: string): void {
  if (!direct) {
    stream(fd).write(text);
    return;
  }
  const bytes = Buffer.from(text);
  let done = 0;
  while (done < bytes.length) {
    try {
      done += fs.writeSync(fd, bytes, done);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // The reader has gone (`| head -1`): what is left is dropped, as `git log | head` does.
      if (code === 'EPIPE') return;
      // A non-blocking descriptor that is full: the stream waits for it; from here on, all
      // output goes through the streams, after what was written directly.
      if (code === 'EAGAIN') {
        direct = false;
        stream(fd).write(bytes.subarray(done));
        return;
      }
      // As for a stream's error (launch.ts): nothing more can be printed.
      process.exitCode = 70;
      return;
    }
  }
}

function stream(fd: 1 | 2): NodeJS.WriteStream {
  return fd === 1 ? process.stdout : process.stderr;
}
