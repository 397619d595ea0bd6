// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The pure core: decisions only, no I/O. */
const PURE_CORE = [
  'src/keys/row.ts',
  'src/keys/row-key.ts',
  'src/keys/snapshot.ts',
  'src/keys/dates.ts',
  'src/keys/date-cell.ts',
  'src/auth/credentials.ts',
  'src/auth/verify.ts',
  'src/usage/counter.ts',
];

const NO_EMULATOR = {
  group: ['**/emulator/**', '../emulator*'],
  message: 'src/ never imports the emulator (a test double, not part of the package).',
};

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.bench/', '.demo/', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      curly: 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/consistent-type-exports': 'error',
      '@typescript-eslint/no-import-type-side-effects': 'error',
      '@typescript-eslint/no-unnecessary-condition': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/prefer-readonly': 'error',
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // False positives on winston's transport classes (declared through `export =` namespaces).
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
    },
  },
  {
    // src/ never imports the emulator: it is a test double, not part of the package.
    files: ['src/**/*.ts'],
    ignores: ['src/server.ts', ...PURE_CORE],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_EMULATOR] }] },
  },
  {
    // The pure core: no I/O, no frameworks, no timers, and no emulator either. One block per file set: in flat
    // config a later block that sets the same rule replaces this one's options, so both patterns live here.
    files: PURE_CORE,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                'express',
                'googleapis*',
                '@googleapis/*',
                'google-auth-library',
                'ioredis',
                'winston',
                'node:timers*',
                '../log',
              ],
              message: 'The pure core does no I/O: it takes its inputs (and `now`) as arguments.',
            },
            NO_EMULATOR,
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
);
