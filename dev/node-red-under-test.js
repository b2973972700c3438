'use strict';
// Which Node-RED the tests run against: the devDependency, or the one in NODE_RED_DIR
// (a folder holding node_modules/node-red), as the version matrix sets it.
const path = require('node:path');

const base = process.env.NODE_RED_DIR ? path.resolve(process.env.NODE_RED_DIR) : path.resolve(__dirname, '..');
const nodeRedDir = path.dirname(require.resolve('node-red/package.json', { paths: [base] }));

/** Requires a module as the Node-RED under test sees it (e.g. '@node-red/util'). */
function requireFromNodeRed(id) {
  return require(require.resolve(id, { paths: [nodeRedDir] }));
}

module.exports = { nodeRedDir, requireFromNodeRed, version: require(path.join(nodeRedDir, 'package.json')).version };
