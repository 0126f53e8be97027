// Preloaded into a script under test (NODE_OPTIONS=--require): fs.statfsSync reports FAKE_FREE_BYTES free, so a full
// claim can be tested without filling a disk.
const fs = require('fs');

const free = Number(process.env.FAKE_FREE_BYTES);
const real = fs.statfsSync;
fs.statfsSync = function statfsSync(path, options) {
  const stats = real(path, options);
  return Object.assign(Object.create(Object.getPrototypeOf(stats)), stats, { bsize: 4096, bavail: Math.floor(free / 4096) });
};
