/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Type checking is done once by `npm run typecheck`; tests only transpile.
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }],
  },
  moduleNameMapper: {
    '^#core/(.*)$': '<rootDir>/core/$1',
    '^#agent/(.*)$': '<rootDir>/agent/$1',
    '^#lambdas/(.*)$': '<rootDir>/lambdas/$1',
    '^#infra/(.*)$': '<rootDir>/infra/$1',
  },
  cacheDirectory: '<rootDir>/.cache/jest',
  setupFiles: ['<rootDir>/test/support/setup-env.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
  maxWorkers: 2,
  testTimeout: 60000,
};
