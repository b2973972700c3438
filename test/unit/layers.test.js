'use strict';
// The runtime's folders are layers, and every import points down the layout (or stays in its
// folder): the HTTP layer knows no send format, shared state implements interfaces it owns, and
// nothing below the account knows the account.
require('should');
const fs = require('node:fs');
const path = require('node:path');

const lib = path.resolve(__dirname, '..', '..', 'nodes', 'lib');
/** Lowest first. `.` is the folder's own modules (errors, limits, rules, …). */
const LAYERS = ['.', 'http', 'shared', 'stats', 'send', 'track', 'receive', 'account'];

function layerOf(file) {
  return path.dirname(path.relative(lib, file)).split(path.sep)[0];
}

function modules(dir = lib) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return modules(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

describe('the layers of nodes/lib', function () {
  it('every import points to its own folder or a lower one', function () {
    const upward = [];
    const files = modules();
    files.length.should.be.above(20);
    for (const file of files) {
      const from = layerOf(file);
      LAYERS.should.containEql(from);
      const source = fs.readFileSync(file, 'utf8');
      for (const [, target] of source.matchAll(/from '(\.[^']*)'/g)) {
        const to = layerOf(path.resolve(path.dirname(file), target) + '.ts');
        if (LAYERS.indexOf(to) > LAYERS.indexOf(from)) upward.push(`${path.relative(lib, file)} → ${target}`);
      }
    }
    upward.should.eql([]);
  });
});
