'use strict';
// Packs the package once per test run and installs the tarball into fresh Node-RED user directories.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
let packed;

function npm(args, cwd) {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `npm pack` of the working tree (built beforehand by the test command): { dir, filename, files }. */
function pack() {
  if (!packed) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'binary-sms-pack-'));
    const [info] = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], root));
    packed = { dir, filename: info.filename, files: info.files.map((file) => file.path), size: info.size };
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return packed;
}

/** A new Node-RED user directory with the tarball installed by npm, as a user would. */
function userDirWithPackage() {
  const tarball = pack();
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'binary-sms-userdir-'));
  fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true }));
  npm(['install', path.join(tarball.dir, tarball.filename), '--no-audit', '--no-fund', '--prefer-offline'], userDir);
  return userDir;
}

module.exports = { pack, userDirWithPackage, root };
