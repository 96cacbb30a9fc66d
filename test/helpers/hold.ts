// A writer held at one step of its transaction until the test lets it go (LESSONS_TEST_HOLD_AT
// in src/util/faults.ts): the test acts while the writer holds the lock, however slowly a
// loaded machine runs either of them, instead of racing a fixed delay.

import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './store.js';

export interface Hold {
  /** The environment that makes a writer stop at the step. */
  readonly env: { LESSONS_TEST_HOLD_AT: string };
  /** Resolves once the writer has reached the step (and holds whatever it holds there). */
  readonly reached: () => Promise<void>;
  /** Lets the writer go on. */
  readonly release: () => void;
}

export function holdAt(step: string): Hold {
  const release = path.join(tempDir(), `release-${step}`);
  return {
    env: { LESSONS_TEST_HOLD_AT: `${step}:${release}` },
    reached: async () => {
      while (!fs.existsSync(`${release}.held`)) await new Promise((r) => setTimeout(r, 10));
    },
    release: () => fs.writeFileSync(release, ''),
  };
}
