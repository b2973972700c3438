#!/usr/bin/env node
// Runs the whole test suite against the other Node-RED versions we support:
// 3.1 on this machine's Node, and 5 on Node 22 (from the npm registry package `node@22`).
// The default `npm test` covers the devDependency (4.1). Installs go to .tmp/ (git-ignored).
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const scratch = path.join(root, '.tmp', 'matrix');
const TARGETS = [
  { label: 'Node-RED 3.1 on Node ' + process.versions.node, nodeRed: 'node-red@~3.1.0', node: null },
  { label: 'Node-RED 5 on Node 22', nodeRed: 'node-red@^5', node: 'node@22' },
];

function install(dir, spec) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'matrix', private: true }));
  execFileSync('npm', ['install', spec, '--no-audit', '--no-fund', '--no-package-lock'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

function installedVersion(dir, name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

const results = [];
for (const target of TARGETS) {
  const nodeRedDir = path.join(scratch, target.nodeRed.replace(/[^a-z0-9.]+/gi, '_'));
  if (!installedVersion(nodeRedDir, 'node-red')) install(nodeRedDir, target.nodeRed);
  let nodeBinary = process.execPath;
  if (target.node) {
    const nodeDir = path.join(scratch, target.node.replace(/[^a-z0-9.]+/gi, '_'));
    if (!installedVersion(nodeDir, 'node')) install(nodeDir, target.node);
    nodeBinary = path.join(nodeDir, 'node_modules', '.bin', 'node');
  }
  const nodeVersion = execFileSync(nodeBinary, ['--version'], { encoding: 'utf8' }).trim();
  const label = `Node-RED ${installedVersion(nodeRedDir, 'node-red')} on Node ${nodeVersion}`;
  console.log(`\n=== ${label} ===`);
  const run = spawnSync(nodeBinary, [require.resolve('mocha/bin/mocha.js')], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, NODE_RED_DIR: nodeRedDir },
  });
  results.push({ label, ok: run.status === 0 });
}

console.log('\nVersion matrix:');
for (const { label, ok } of results) console.log(`  ${ok ? 'pass' : 'FAIL'}  ${label}`);
process.exit(results.every((result) => result.ok) ? 0 : 1);
