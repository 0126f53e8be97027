/** @type {import('jest').Config} */
module.exports = {
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Types are checked once by `npm run typecheck` (part of `npm test`); esbuild only strips them.
  transform: { '^.+\\.ts$': '<rootDir>/test/support/transform.js' },
  // The entries the tests synthesize in their own process live beside the project's packages, so that these resolve.
  transformIgnorePatterns: ['/node_modules/(?!\\.cache/homelab-secrets/test-entries/)'],
  // Only catches a hang: above the longest run's own bound (a vault-rollout scenario's, 60 s) on a busy machine.
  testTimeout: 90000,
  // main.ts and the examples import the constructs by the package's own name (tsconfig.json's paths, which esbuild reads).
  moduleNameMapper: { '^homelab-secrets$': '<rootDir>/lib/index.ts' },
  // Four workers on two cores: the slowest files mostly wait on loopback servers and timers, and a worker's heap (and
  // its collector's work) grows with every file it runs. Measured with `npm run bench -- test` (docs/development.md).
  maxWorkers: 4,
};
