// Jest's transform for the project's TypeScript: esbuild strips the types (the suite's type-check is `npm run
// typecheck`), as it does for the bundles that ship, in a few milliseconds a file and without loading the TypeScript
// compiler into every worker. Jest caches the output by the file's content and this file's.
const { readFileSync } = require('fs');
const { createHash } = require('crypto');
const esbuild = require('esbuild');

const self = createHash('sha256').update(readFileSync(__filename)).update(require('esbuild/package.json').version).digest('hex');

module.exports = {
  process(source, filename) {
    const { code, map } = esbuild.transformSync(source, {
      loader: 'ts', format: 'cjs', target: 'node20', platform: 'node', sourcefile: filename, sourcemap: 'external', sourcesContent: false,
    });
    return { code, map };
  },
  // Jest instruments the output for coverage itself, and caches what it stored under this key: the key says whether.
  getCacheKey(source, filename, options) {
    return createHash('sha256').update(self).update('\0').update(filename).update('\0').update(String(options?.instrument))
      .update('\0').update(options?.configString ?? '').update('\0').update(source).digest('hex');
  },
};
