// Declaration of `lessons recover`; the handler loads lazily.

import type { Command, GlobalArgs } from '../output.js';

export const recoverCommand: Command<GlobalArgs, GlobalArgs> = {
  command: 'recover',
  describe: 'Finish or undo transactions left by crashed writers',
  handler: async (argv) => (await import('../handlers/recover.js')).recover(argv),
};
