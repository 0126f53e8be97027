#!/usr/bin/env node
// Synthesizes dist/: bundles main.ts, lib/ and the packages they use (cdk8s, the L1 classes) with esbuild into one
// file, cached while its sources are unchanged, and runs it: one file loads much faster than the packages' hundreds. This is what `npm run synth` and `cdk8s synth` (through cdk8s.yaml) run; it is
// several times faster than ts-node, which type-checks on every run (`npm test` type-checks instead).
// `node scripts/synth.js [ENTRY]` synthesizes another entry that exports buildApps, as the tests do.
// A wrong prop prints one line (which construct, what is wrong) and exits 1, leaving dist/ as it was; an unexpected
// error prints its stack.
const path = require('path');
const { bundleFile, root } = require('./bundle');

const entry = (process.argv[2] ?? 'main.ts').replace(/\\/g, '/');
const outdir = process.env.CDK8S_OUTDIR ?? 'dist';
const file = bundleFile(`synth-${entry.replace(/[^A-Za-z0-9]+/g, '-')}`, {
  stdin: {
    contents: `export { buildApps } from './${entry.replace(/\.ts$/, '')}';\nexport { isPropError, summary, synthesize } from './scripts/synthesize';\n`,
    resolveDir: root,
    loader: 'ts',
    sourcefile: 'synth-entry.ts',
  },
  // esbuild runs the runtime scripts' bundles during synthesis: it stays a package, with its native binary.
  external: ['esbuild'],
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'warning',
});

process.chdir(root);
const { buildApps, isPropError, summary, synthesize } = require(file);
try {
  const written = synthesize(buildApps, path.resolve(root, outdir));
  console.log(summary(outdir, written));
} catch (error) {
  if (!isPropError(error)) throw error;
  console.error(`synthesis failed, ${outdir}/ left as it was:\n${error.message.replace(/^/gm, '  ')}`);
  process.exit(1);
}
