#!/usr/bin/env node
// Compiles nodes/ into dist/ and puts beside the compiled nodes what Node-RED looks for there:
// each node's editor file (its script, bundled by esbuild from nodes/editor/<node>.ts into one
// IIFE, followed by its HTML templates from nodes/<node>.html), locales and icons.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');

fs.rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', root], { stdio: 'inherit' });

const esbuild = require('esbuild');
for (const file of fs.readdirSync(path.join(root, 'nodes'))) {
  if (!file.endsWith('.html')) continue;
  const name = file.replace(/\.html$/, '');
  const { outputFiles } = esbuild.buildSync({
    entryPoints: [path.join(root, 'nodes', 'editor', `${name}.ts`)],
    bundle: true,
    format: 'iife',
    target: 'es2017',
    write: false,
    logLevel: 'warning',
  });
  const script = outputFiles[0].text;
  const templates = fs.readFileSync(path.join(root, 'nodes', file), 'utf8');
  fs.writeFileSync(path.join(dist, file), `<script type="text/javascript">\n${script}</script>\n\n${templates}`);
}
fs.cpSync(path.join(root, 'locales'), path.join(dist, 'locales'), { recursive: true });
fs.cpSync(path.join(root, 'icons'), path.join(dist, 'icons'), { recursive: true });
