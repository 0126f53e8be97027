// A stand-in for fs.statfsSync in a run in the test's process (run-in-process.ts): it reports FAKE_FREE_BYTES free,
// so a full claim can be tested without filling a disk. With FAKE_CLAIM_BYTES instead, the folder asked about is a
// claim of that size: free is that less the bytes of the files in it now, so deleting a file frees its room as on a
// real claim.
const fs = require('fs');
const path = require('path');

/** The statfsSync function for the variables in `env`, answering from `real` for everything but the free space. */
function fakeStatfsSync(env, real) {
  const claim = env.FAKE_CLAIM_BYTES === undefined ? undefined : Number(env.FAKE_CLAIM_BYTES);
  const used = (dir) => fs.readdirSync(dir).reduce((sum, name) => sum + fs.statSync(path.join(dir, name)).size, 0);
  return function statfsSync(dir, options) {
    const stats = real(dir, options);
    const free = claim === undefined ? Number(env.FAKE_FREE_BYTES) : Math.max(0, claim - used(dir));
    return Object.assign(Object.create(Object.getPrototypeOf(stats)), stats, { bsize: 4096, bavail: Math.floor(free / 4096) });
  };
}

module.exports = { fakeStatfsSync };
