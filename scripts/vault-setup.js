#!/usr/bin/env node
// `npm run vault-setup -- plan|apply`: bundles runtime/vault-setup.ts with esbuild (yaml included, so the bundle
// stands alone) and runs it in this process from the project root, where it finds dist/. Bundling takes a fraction
// of a second; type-checking is left to `npm test`, as for `npm run synth`.
const path = require('path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');

/** Writes the bundle to `outfile` (the integration tests bundle into a temporary folder). */
function bundleVaultSetup(outfile) {
  esbuild.buildSync({
    absWorkingDir: root,
    entryPoints: ['runtime/vault-setup.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    legalComments: 'none',
    logLevel: 'warning',
  });
  return outfile;
}

module.exports = { bundleVaultSetup };

if (require.main === module) {
  const outfile = bundleVaultSetup(path.join(root, 'node_modules', '.cache', 'homelab-secrets', 'vault-setup.js'));
  process.chdir(root);
  require(outfile).cli(process.argv.slice(2));
}
