'use strict';
// The `debug` package as the command line's bundles see it (build.mjs aliases it here). Its one
// user there is secretlint's core, for messages shown only under DEBUG=@secretlint/*; the real
// package loads node:tty and supports-color to colour them, about 1 ms of a cold record. Those
// messages are about secretlint's own configuration, which lessons fixes in code; the library
// (dist/src) keeps the real package for whoever needs them.

function createDebug(namespace) {
  const log = () => undefined;
  log.namespace = namespace;
  log.enabled = false;
  log.extend = (suffix, delimiter = ':') => createDebug(`${namespace}${delimiter}${suffix}`);
  return log;
}
createDebug.enable = () => undefined;
createDebug.disable = () => '';
createDebug.enabled = () => false;

module.exports = createDebug;
module.exports.default = createDebug;
