#!/usr/bin/env node
// `npm run vault-rollout -- [--dry-run] [--yes] [--timeout 10m] [--dist DIR]`: bundles tools/vault-rollout/main.ts with
// esbuild (cached while its sources are unchanged) and runs it in this process from the project root, where it finds
// dist/. Type-checking is left to `npm test`, as for `npm run vault-setup`.
const { bundleFile, NODE_SCRIPT, root } = require('../build/bundle');

/** The bundle's file (the integration tests run it as a real process). */
function bundleVaultRollout() {
  return bundleFile('vault-rollout', {
    entryPoints: ['tools/vault-rollout/main.ts'],
    ...NODE_SCRIPT,
    legalComments: 'none',
    logLevel: 'warning',
  });
}

module.exports = { bundleVaultRollout };

if (require.main === module) {
  const outfile = bundleVaultRollout();
  process.chdir(root);
  require(outfile).cli(process.argv.slice(2));
}
