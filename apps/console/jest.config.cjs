// One test file at a time: the browser tests start chronik-server processes and Chromium, and the
// machine has two cores.
module.exports = require('../../jest.config.base.cjs')(__dirname, { maxWorkers: 1 });
