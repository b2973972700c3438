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

/**
 * `npm pack` as a publisher runs it in a fresh clone: the files git tracks, copied without any
 * earlier build (no dist/), so the tarball holds only what `prepack` builds.
 * Returns { dir, filename, files, size }.
 */
function pack() {
  if (!packed) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'binary-sms-pack-'));
    const clone = path.join(dir, 'clone');
    const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
      .split('\0')
      .filter(Boolean);
    for (const file of tracked) {
      fs.mkdirSync(path.dirname(path.join(clone, file)), { recursive: true });
      fs.copyFileSync(path.join(root, file), path.join(clone, file));
    }
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(clone, 'node_modules'));
    const [info] = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], clone));
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
