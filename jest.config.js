/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: '<rootDir>/test/support/environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Types are checked once by `tsc --noEmit` (part of `npm test`); ts-jest only transpiles.
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', transpilation: true }] },
  testTimeout: 30000,
  // The slow files mostly wait on child processes and loopback servers: two workers on two cores halve the wall time.
  maxWorkers: 2,
};
