#!/usr/bin/env node
// `npm run -s names [-- --dist DIR]`: bundles tools/names/main.ts with esbuild (cached while its sources are unchanged)
// and runs it from the project root, where it finds dist/.
const { bundleFile, NODE_SCRIPT, root } = require('../build/bundle');

const outfile = bundleFile('names', { entryPoints: ['tools/names/main.ts'], ...NODE_SCRIPT, legalComments: 'none', logLevel: 'warning' });
process.chdir(root);
require(outfile).main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
