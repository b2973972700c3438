#!/usr/bin/env node
// Compiles nodes/ into dist/ and puts beside the compiled nodes what Node-RED looks
// for there: the editor templates (with the shared input rules inlined), locales and icons.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');

fs.rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', root], { stdio: 'inherit' });

const rules = fs.readFileSync(path.join(dist, 'lib', 'rules.js'), 'utf8').replace(/^\/\/# sourceMappingURL.*$/m, '');
const inlineRules = `var rules = (function (exports) {\n${rules}\nreturn exports;\n})({});`;
for (const file of fs.readdirSync(path.join(root, 'nodes'))) {
  if (!file.endsWith('.html')) continue;
  const template = fs.readFileSync(path.join(root, 'nodes', file), 'utf8');
  if (!template.includes('/* @rules */')) throw new Error(`${file} lacks the /* @rules */ marker`);
  fs.writeFileSync(
    path.join(dist, file),
    template.replace('/* @rules */', () => inlineRules),
  );
}
fs.cpSync(path.join(root, 'locales'), path.join(dist, 'locales'), { recursive: true });
fs.cpSync(path.join(root, 'icons'), path.join(dist, 'icons'), { recursive: true });
