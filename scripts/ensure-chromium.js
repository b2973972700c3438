#!/usr/bin/env node
// The browser test needs Debian's Chromium. Installs it when missing and running as root;
// otherwise says exactly what to install. Never lets the browser test be skipped.
'use strict';
const { execSync } = require('node:child_process');
const fs = require('node:fs');

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!fs.existsSync(chromium)) {
  if (process.getuid?.() === 0 && fs.existsSync('/usr/bin/apt-get')) {
    console.log("Chromium is missing: installing Debian's chromium package for the browser test…");
    execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium', {
      stdio: 'inherit',
    });
  } else {
    console.error(
      `The browser test needs Chromium at ${chromium}. Install it with: sudo apt-get install -y chromium (or set CHROMIUM_PATH).`,
    );
    process.exit(1);
  }
}
