/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // tsconfig's isolatedModules makes ts-jest transpile only; `npm test` type-checks the tree once with tsc first.
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  // Integration tests start real HTTP servers and child processes: keep CPU contention sane on 2 cores.
  maxWorkers: 2,
  testTimeout: 20000,
};
