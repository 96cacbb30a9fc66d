// Progress of long runs (import, reindex, verify, cleanup) through cli-progress: drawn on stderr
// only when it is a terminal (and not under --json or --quiet), redrawn at most every 100 ms and
// at least every 200 ms while updates come, finished with a newline so the result that follows
// starts on a line of its own. Never on stdout.

import cliProgress from 'cli-progress';
import type { Output } from './output.js';

/** `(done, total, phase)`: what the library's onProgress callbacks report. */
export type ProgressFn = (done: number, total: number, phase?: string) => void;

export interface Progress {
  /** The callback to hand to the library; undefined when nothing is drawn. */
  readonly update: ProgressFn | undefined;
  /** Draw the last state and end the line. Safe to call more than once. */
  stop(): void;
}

const NONE: Progress = { update: undefined, stop: () => undefined };

export function progress(out: Output, label: string): Progress {
  if (!out.interactive) return NONE;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} {phase}[{bar}] {value}/{total} {percentage}%`,
      barsize: 24,
      fps: 10,
      hideCursor: false,
      clearOnComplete: false,
      // Its SIGINT/SIGTERM listeners would stop Node from exiting on Ctrl-C: a long reindex
      // must stay interruptible. Nothing needs restoring then: the cursor is never hidden,
      // and line wrapping is left on (the line is short) rather than turned off and back.
      gracefulExit: false,
      linewrap: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let stopped = false;
  let shown: string | undefined;
  return {
    update: (done, total, phase) => {
      if (stopped) return;
      const payload = { phase: phase === undefined ? '' : `${phase} ` };
      if (!started) {
        started = true;
        shown = phase;
        bar.start(total, done, payload);
        return;
      }
      // A new phase is drawn at once, whatever the throttle, and the last state of the one
      // before first: a person sees each step end and the next begin. (The throttle's timer
      // may never have fired: work that awaits no I/O does not let it run.)
      const next = phase !== shown;
      if (next) bar.render();
      if (bar.getTotal() !== total) bar.setTotal(total);
      bar.update(done, payload);
      if (next) bar.render();
      shown = phase;
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      if (started) bar.stop();
    },
  };
}
