// Bundle the command line once before the suite, so CLI tests run what the source says now.

import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync(process.execPath, ['build.mjs', '--cli-only'], { stdio: 'inherit' });
}
