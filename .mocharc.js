'use strict';
module.exports = {
  spec: ['test/**/*.test.js'],
  require: ['test/support/hooks.js'],
  timeout: 30000,
  exit: true,
};
