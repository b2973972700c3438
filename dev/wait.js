'use strict';
// Waiting in tests and tools that drive real processes and servers.

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `predicate()` holds, checking every 20 ms, for at most `ms`; says what it waited for. */
async function until(predicate, ms = 10000, what = 'condition') {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await wait(20);
  }
}

module.exports = { wait, until };
