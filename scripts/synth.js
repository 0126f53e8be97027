#!/usr/bin/env node
// Synthesizes dist/: bundles main.ts, lib/ and the packages they use (cdk8s, the L1 classes) with esbuild into one
// file, cached while its sources are unchanged, and runs it: one file loads much faster than the packages' hundreds. This is what `npm run synth` and `cdk8s synth` (through cdk8s.yaml) run; it is
// several times faster than ts-node, which type-checks on every run (`npm test` type-checks instead).
// `node scripts/synth.js [ENTRY]` synthesizes another entry that exports buildApps, as the tests do.
// `node scripts/synth.js --all` (what `npm run synth` runs) synthesizes main.ts into dist/ and then each example,
// examples/<name>/main.ts into examples/<name>/dist/, from one bundle; `cdk8s synth` writes only dist/.
// A wrong prop prints one line (which construct, what is wrong) and exits 1, leaving that output folder as it was; an
// unexpected error prints its stack.
const fs = require('fs');
const path = require('path');
const { bundleFile, root } = require('./bundle');

/** The examples: each folder of examples/ that holds a main.ts, in name order. */
function exampleEntries() {
  const dir = path.join(root, 'examples');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(dir, e.name, 'main.ts')))
    .map((e) => e.name).sort()
    .flatMap((name) => [
      { entry: `examples/${name}/main.ts`, outdir: `examples/${name}/dist` },
      // One-off objects beside dist/, never in it (such as a migration): examples/<name>/migration.ts, if present.
      ...(fs.existsSync(path.join(dir, name, 'migration.ts')) ? [{ entry: `examples/${name}/migration.ts`, outdir: `examples/${name}/migration` }] : []),
    ]);
}

const all = process.argv[2] === '--all';
const entry = (all ? 'main.ts' : process.argv[2] ?? 'main.ts').replace(/\\/g, '/');
const targets = [{ entry, outdir: process.env.CDK8S_OUTDIR ?? 'dist' }, ...(all ? exampleEntries() : [])];
const name = all ? 'synth-all' : `synth-${entry.replace(/[^A-Za-z0-9]+/g, '-')}`;
const file = bundleFile(name, {
  stdin: {
    contents: [
      ...targets.map((t, i) => `export { buildApps as buildApps${i} } from './${t.entry.replace(/\.ts$/, '')}';`),
      `export { isPropError, summary, synthesize } from './scripts/synthesize';`,
      '',
    ].join('\n'),
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
const bundle = require(file);
const { isPropError, summary, synthesize } = bundle;
targets.forEach(({ outdir }, i) => {
  try {
    const written = synthesize(bundle[`buildApps${i}`], path.resolve(root, outdir));
    console.log(summary(outdir, written));
  } catch (error) {
    if (!isPropError(error)) throw error;
    console.error(`synthesis failed, ${outdir}/ left as it was:\n${error.message.replace(/^/gm, '  ')}`);
    process.exit(1);
  }
});
