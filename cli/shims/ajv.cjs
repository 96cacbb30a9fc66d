// Ajv and ajv-formats as the MCP bundle sees them (build.mjs aliases both here). The SDK's
// Server imports them for validating elicitation answers; lessons passes its own validator
// (src/mcp/server.ts) and never elicits, so neither is ever constructed. If one were, this
// says why it is missing instead of failing somewhere obscure.

'use strict';

function missing() {
  throw new Error('Ajv is left out of the lessons MCP bundle: pass a jsonSchemaValidator');
}

module.exports = missing;
module.exports.default = missing;
module.exports.Ajv = missing;
