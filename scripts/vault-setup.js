#!/usr/bin/env node
// `npm run vault-setup -- plan|apply`: bundles tools/vault-setup/main.ts with esbuild (yaml included, so the bundle
// stands alone; cached while its sources are unchanged) and runs it in this process from the project root, where it
// finds dist/. Type-checking is left to `npm test`, as for `npm run synth`.
const { bundleFile, NODE_SCRIPT, root } = require('../build/bundle');

/** The bundle's file (the integration tests run it as a real process). */
function bundleVaultSetup() {
  return bundleFile('vault-setup', {
    entryPoints: ['tools/vault-setup/main.ts'],
    ...NODE_SCRIPT,
    legalComments: 'none',
    logLevel: 'warning',
  });
}

module.exports = { bundleVaultSetup };

if (require.main === module) {
  const outfile = bundleVaultSetup();
  process.chdir(root);
  require(outfile).cli(process.argv.slice(2));
}
