// The MCP server as a bundle of its own (dist/cli/mcp.cjs), loaded only by `lessons mcp`.

export { serveStdio } from '../src/mcp/server.js';
