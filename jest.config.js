// Native ESM jest (node --experimental-vm-modules) with SWC transpiling
// TypeScript: execa, octokit and remark are ESM-only. Workspace packages are
// mapped to their sources so tests never run against a stale dist/.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'es6' },
        sourceMaps: 'inline',
      },
    ],
  },
  moduleNameMapper: {
    '^@labgrader/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
    // Subpath exports (`@labgrader/builtin/runtime` → packages/builtin/src/runtime.ts).
    '^@labgrader/([a-z-]+)/([a-z-]+)$': '<rootDir>/packages/$1/src/$2.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testMatch: [
    '<rootDir>/packages/*/test/**/*.test.ts',
    '<rootDir>/apps/*/test/**/*.test.ts',
    '<rootDir>/test/**/*.test.ts',
  ],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/fixtures/'],
  testTimeout: 30_000,
};
