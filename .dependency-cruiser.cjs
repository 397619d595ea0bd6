/**
 * Layer rules for src/, scripts/ and bench/, checked by `npm run lint` (depcruise src scripts bench --config
 * .dependency-cruiser.cjs --ignore-known).
 * Known violations that predate a rule are listed in .dependency-cruiser-known-violations.json (made with
 * `npx depcruise-baseline src scripts bench --config .dependency-cruiser.cjs`): they are reported as known, not as errors, and the
 * list is meant to shrink to nothing. Any new violation fails the lint.
 */
const PURE_CORE = '^src/(keys/(row|snapshot|dates)|auth/(credentials|verify)|usage/counter)[.]ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import circles: each module can be read after the ones it imports.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'src-not-to-tooling',
      severity: 'error',
      comment: 'The package never imports the emulator, tests, scripts or benches.',
      from: { path: '^src/' },
      to: { path: '^(emulator|test|scripts|bench)/' },
    },
    {
      name: 'tooling-not-to-tests',
      severity: 'error',
      comment:
        'Scripts and benches run without the test tree: what they share with tests (throwaway credentials, the emulator) lives in emulator/.',
      from: { path: '^(scripts|bench)/' },
      to: { path: '^test/' },
    },
    {
      name: 'pure-core-no-io',
      severity: 'error',
      comment:
        'The pure core takes its inputs (and `now`) as arguments: no framework, no I/O client, no timers, no log.',
      from: { path: PURE_CORE },
      to: {
        path: ['^src/log[.]ts$', 'node_modules/(express|googleapis|@googleapis|google-auth-library|ioredis|winston)/'],
      },
    },
    {
      name: 'pure-core-no-timers',
      severity: 'error',
      comment: 'The pure core gets the time as an argument and never schedules.',
      from: { path: PURE_CORE },
      to: { dependencyTypes: ['core'], path: '^(node:)?timers' },
    },
    {
      name: 'nothing-imports-composition',
      severity: 'error',
      comment: 'server.ts and the CLI compose the service; nothing below them imports them.',
      from: { path: '^src/', pathNot: '^src/(server[.]ts|cli/)' },
      to: { path: '^src/(server[.]ts|cli/)' },
    },
    {
      name: 'library-entry-not-imported',
      severity: 'error',
      comment: 'index.ts is the package entry: nothing in src/ imports it.',
      from: { path: '^src/' },
      to: { path: '^src/index[.]ts$' },
    },
    {
      name: 'routes-not-to-library-entry',
      severity: 'error',
      comment: 'Routes take the small interface they need, not the library entry (sheetgate.ts) or the app.',
      from: { path: '^src/http/' },
      to: { path: '^src/(sheetgate|app)[.]ts$' },
    },
    {
      name: 'redis-adapters-point-down',
      severity: 'error',
      comment: 'src/redis/ holds adapters: it depends on nothing above it (usage, limits, auth, http, the entries).',
      from: { path: '^src/redis/' },
      to: { path: '^src/(usage|limits|auth|http)/|^src/(sheetgate|app)[.]ts$' },
    },
    {
      name: 'keys-not-to-redis',
      severity: 'error',
      comment: 'The key registry does not know about Redis: the shared source is a Redis adapter.',
      from: { path: '^src/keys/' },
      to: { path: '^src/redis/' },
    },
    {
      name: 'usage-not-to-snapshot-internals',
      severity: 'error',
      comment: 'Usage code shares no helpers with the snapshot builders; common slicing lives in its own module.',
      from: { path: '^src/usage/' },
      to: { path: '^src/keys/snapshot' },
    },
    {
      name: 'adapters-not-to-auth-middleware',
      severity: 'error',
      comment: 'Limits and usage are ports the auth middleware uses, never the other way round.',
      from: { path: '^src/(limits|usage)/' },
      to: { path: '^src/(auth|http)/' },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules', '^(emulator|test)/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|coverage)/' },
  },
};
