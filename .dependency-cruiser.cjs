/**
 * Layer rules for src/, scripts/ and bench/, checked by `npm run lint` (depcruise src scripts bench --config
 * .dependency-cruiser.cjs). Any violation fails the lint. From the top down: the composition (server.ts, which wires
 * redis-cluster.ts and change-detection.ts; the CLI), the library entry and the app, the routes (http/), the auth
 * middleware, the ports and adapters (limits/, usage/, redis/), the key registry (keys/), and the modules every layer
 * may use (log, slicing, mask-url). scripts/ and bench/ (tooling) never import test/.
 */
const PURE_CORE = '^src/(keys/(row|row-key|snapshot|dates|date-cell)|auth/(credentials|verify)|usage/counter)[.]ts$';
/** Modules that wire adapters together: only server.ts (and the CLI, for itself) may import them. */
const COMPOSITION = '^src/(server|redis-cluster|change-detection)[.]ts$|^src/cli/';
/** The library entry and the app: what the composition builds on, and nothing below it imports. */
const ENTRIES = '^src/(index|sheetgate|app|config)[.]ts$';
/** Modules every layer may import: they import nothing of the service (log.ts, used everywhere too, reads key-id). */
const LEAVES = '^src/(slicing|mask-url)[.]ts$';

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
      comment:
        'server.ts and the CLI compose the service (with redis-cluster.ts, change-detection.ts); nothing below imports them.',
      from: { path: '^src/', pathNot: '^src/(server[.]ts|cli/)' },
      to: { path: COMPOSITION },
    },
    {
      name: 'library-entry-not-imported',
      severity: 'error',
      comment: 'index.ts is the package entry: nothing in src/ imports it.',
      from: { path: '^src/' },
      to: { path: '^src/index[.]ts$' },
    },
    {
      name: 'routes-not-to-entries',
      severity: 'error',
      comment:
        'Routes take the small interface they need, not the library entry (sheetgate.ts), the app or the wiring.',
      from: { path: '^src/http/' },
      to: { path: [ENTRIES, COMPOSITION] },
    },
    {
      name: 'adapters-point-down',
      severity: 'error',
      comment:
        'limits/ and usage/ hold ports and adapters: they use the key registry and the leaves, never the routes, the auth middleware, the entries or the wiring.',
      from: { path: '^src/(limits|usage)/' },
      to: { path: ['^src/(auth|http)/', ENTRIES, COMPOSITION] },
    },
    {
      name: 'redis-adapters-point-down',
      severity: 'error',
      comment: 'src/redis/ holds Redis adapters: it depends on nothing above it (usage, limits, auth, http, entries).',
      from: { path: '^src/redis/' },
      to: { path: ['^src/(usage|limits|auth|http|cli)/', ENTRIES, COMPOSITION] },
    },
    {
      name: 'keys-point-down',
      severity: 'error',
      comment:
        'The key registry is the bottom layer: it knows nothing of Redis, usage, limits, auth, routes, the CLI, the entries or the wiring.',
      from: { path: '^src/keys/' },
      to: { path: ['^src/(redis|usage|limits|auth|http|cli)/', ENTRIES, COMPOSITION] },
    },
    {
      name: 'leaves-import-nothing-of-the-service',
      severity: 'error',
      comment: 'slicing and mask-url are used by every layer, so they import no module of src/ but each other.',
      from: { path: LEAVES },
      to: { path: '^src/', pathNot: LEAVES },
    },
    {
      name: 'usage-not-to-snapshot-internals',
      severity: 'error',
      comment: 'Usage code shares no helpers with the snapshot build; common slicing lives in src/slicing.ts.',
      from: { path: '^src/usage/' },
      to: { path: '^src/keys/(snapshot|load-snapshot|key-store|key-table)' },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules', '^(emulator|test)/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|coverage)/' },
  },
};
