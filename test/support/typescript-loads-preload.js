// Preloaded into a synth run as a process of its own (NODE_OPTIONS=--require): when it exits, writes to the file
// TYPESCRIPT_LOADS_FILE names whether it read TypeScript's compiler, so that a test sees an unchanged stamp skip the
// type-check without a signal in scripts/synth.js. `require` reads it through fs.
const fs = require('fs');

const readFileSync = fs.readFileSync;
let loaded = false;
fs.readFileSync = function watchedReadFileSync(file, ...rest) {
  if (typeof file === 'string' && /[\\/]node_modules[\\/]typescript[\\/]lib[\\/]typescript\.js$/.test(file)) loaded = true;
  return readFileSync.call(this, file, ...rest);
};
process.on('exit', () => fs.writeFileSync(process.env.TYPESCRIPT_LOADS_FILE, loaded ? 'loaded' : 'not loaded'));
