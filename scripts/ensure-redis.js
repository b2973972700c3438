#!/usr/bin/env node
// The shared-state tests start their own redis-server. When it is missing and we run as root with
// apt-get, this says what it installs and why, then installs Debian's redis-server (which starts
// nothing by itself in a container); SKIP_REDIS_INSTALL=1 declines. Otherwise the tests fail with
// a message saying how to install it: they are never skipped.
'use strict';
const { execSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');

const binary = process.env.REDIS_SERVER ?? 'redis-server';
const present = () => !spawnSync(binary, ['--version']).error;

if (!present()) {
  const canInstall = process.getuid?.() === 0 && fs.existsSync('/usr/bin/apt-get') && !process.env.SKIP_REDIS_INSTALL;
  if (canInstall) {
    console.log(
      "The shared-state tests need redis-server, which is missing. Installing Debian's redis-server with apt-get.",
    );
    try {
      execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server', {
        stdio: 'inherit',
      });
    } catch {
      // Said below.
    }
  }
  if (!present()) {
    console.warn(
      'redis-server is not installed: the shared-state tests will fail. Install it with: sudo apt-get install -y redis-server (or set REDIS_SERVER to its path).',
    );
  }
}
