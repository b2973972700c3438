'use strict';
// Root hooks for every test file: no test may leave an unhandled promise rejection behind.
const unhandled = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

exports.mochaHooks = {
  afterEach() {
    if (unhandled.length > 0) {
      const reasons = unhandled.splice(0).map((reason) => String(reason?.stack ?? reason));
      throw new Error(`unhandled promise rejection(s):\n${reasons.join('\n')}`);
    }
  },
};
