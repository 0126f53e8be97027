#!/usr/bin/env node
// `npm run bench [-- synth|test|unseal|recovery|...]`: bundles scripts/bench.ts as every bundle here is built (its
// packages left external) and runs it with the arguments given.
const { bundleFile, NODE_SCRIPT, root } = require('../build/bundle');

process.chdir(root);
require(bundleFile('bench', { entryPoints: ['scripts/bench.ts'], ...NODE_SCRIPT, packages: 'external', logLevel: 'warning' }));
