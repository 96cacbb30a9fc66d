// Declaration of `lessons mcp`; the handler loads lazily, and the server itself (with the MCP
// SDK) from a bundle of its own, so no other command pays for loading it.

import type { Command, GlobalArgs } from '../output.js';

export const mcpCommand: Command<GlobalArgs, GlobalArgs> = {
  command: 'mcp',
  describe: 'Serve the store to agents over the Model Context Protocol (stdio)',
  builder: (yargs) =>
    yargs
      .example('$0 mcp', 'serve ./memory (or $LESSONS_DIR) to the MCP client that started it')
      .example('$0 --dir ~/project/memory mcp', 'serve another store')
      .epilog(
        'One long-lived process per agent, speaking MCP on stdin/stdout; logs go to stderr. ' +
          'Writes wait at most --lock-timeout for a busy store (default 30s here, within the ' +
          "usual 60 s of a client's request). See docs/agents.md for client configuration.",
      ),
  handler: async (argv) => (await import('../handlers/mcp.js')).mcp(argv),
};
