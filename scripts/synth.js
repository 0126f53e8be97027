#!/usr/bin/env node
// Synthesizes dist/: bundles main.ts and lib/ with esbuild (packages stay external) and runs the bundle. This is what
// `npm run synth` and `cdk8s synth` (through cdk8s.yaml) run; it is several times faster than ts-node, which
// type-checks on every run (`npm test` type-checks instead).
const path = require('path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const outfile = path.join(root, 'node_modules', '.cache', 'homelab-secrets', 'main.js');

esbuild.buildSync({
  entryPoints: [path.join(root, 'main.ts')],
  outfile,
  bundle: true,
  packages: 'external',
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // No source map: it doubles the bundle and the start-up; the bundle keeps the code readable, with a comment naming
  // each source file, so a stack trace still points somewhere useful.
  logLevel: 'warning',
});
process.chdir(root);
require(outfile).synthesize();
