#!/usr/bin/env node
// `npm run write-secrets`: bundles tools/write-secrets/main.ts with esbuild (cached while its sources are unchanged) and
// runs it in this process from the project root, where it finds dist/.
const { bundleFile, NODE_SCRIPT, root } = require('../build/bundle');

function bundleWriteSecrets() {
  return bundleFile('write-secrets', { entryPoints: ['tools/write-secrets/main.ts'], ...NODE_SCRIPT, legalComments: 'none', logLevel: 'warning' });
}

module.exports = { bundleWriteSecrets };

if (require.main === module) {
  const outfile = bundleWriteSecrets();
  process.chdir(root);
  require(outfile).cli(process.argv.slice(2));
}
