#!/usr/bin/env node
// The browser test needs Debian's Chromium. When it is missing and we run as root with apt-get,
// this says what it will install and why, then installs it (SKIP_CHROMIUM_INSTALL=1 declines).
// When it cannot be installed, it says so and the browser test skips itself with the same
// message, unless REQUIRE_BROWSER_TESTS is set (as .ci/run sets it): then this fails.
'use strict';
const { execSync } = require('node:child_process');
const fs = require('node:fs');

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const required = Boolean(process.env.REQUIRE_BROWSER_TESTS);

function cannot(reason) {
  const message = `Chromium is not at ${chromium} (${reason}): the browser tests ${required ? 'cannot run' : 'will be skipped'}. Install it with: sudo apt-get install -y chromium (or set CHROMIUM_PATH).`;
  if (required) {
    console.error(message);
    process.exit(1);
  }
  console.warn(message);
}

if (!fs.existsSync(chromium)) {
  const canInstall = process.getuid?.() === 0 && fs.existsSync('/usr/bin/apt-get');
  if (!canInstall) {
    cannot('not running as root with apt-get');
  } else if (process.env.SKIP_CHROMIUM_INSTALL && !required) {
    cannot('SKIP_CHROMIUM_INSTALL is set');
  } else {
    console.log(
      "The browser tests need Chromium, which is missing. Installing Debian's chromium package with apt-get\n" +
        '(it brings about 130 packages, a few hundred MB); set SKIP_CHROMIUM_INSTALL=1 to skip the browser tests instead.',
    );
    try {
      execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium', {
        stdio: 'inherit',
      });
      if (!fs.existsSync(chromium)) cannot('apt-get installed chromium, but not at that path');
    } catch {
      cannot('apt-get could not install it');
    }
  }
}
