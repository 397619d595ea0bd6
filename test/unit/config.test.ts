import { ConfigError, loadConfig, missingCredentials } from '../../src/config';

/** The ConfigError `loadConfig` throws for `env` (fails the test if it does not throw one). */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('loadConfig accepted the environment');
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8000,
      authEnabled: true,
      authRequired: false,
      sheetName: 'API_Keys',
      cacheDurationSec: 300,
      defaultRateLimit: 60,
      usageFlushIntervalSec: 60,
      logLevel: 'info',
      credentialsPath: undefined,
      redisUrl: undefined,
      shutdownTimeoutSec: 25,
      usageHistoryTab: 'API_Usage',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '9000',
      AUTH_ENABLED: 'FALSE',
      AUTH_REQUIRED: 'yes',
      GOOGLE_CREDENTIALS_PATH: '/sa.json',
      GOOGLE_SHEET_ID: 'abc',
      GOOGLE_SHEET_NAME: 'Keys',
      API_KEY_CACHE_DURATION: '60',
      DEFAULT_RATE_LIMIT: '10',
      USAGE_FLUSH_INTERVAL: '5',
      LOG_LEVEL: 'debug',
      GOOGLE_SHEETS_ROOT_URL: 'http://127.0.0.1:8085/',
      REDIS_URL: 'redis://127.0.0.1:6379',
      UPSTREAM_URL: 'http://127.0.0.1:3000',
      TRUST_PROXY: '1',
      SHUTDOWN_TIMEOUT: '5',
      USAGE_HISTORY_TAB: ' Daily usage ',
    });
    expect(config).toMatchObject({
      port: 9000,
      authEnabled: false,
      authRequired: true,
      credentialsPath: '/sa.json',
      sheetId: 'abc',
      sheetName: 'Keys',
      cacheDurationSec: 60,
      defaultRateLimit: 10,
      usageFlushIntervalSec: 5,
      logLevel: 'debug',
      sheetsRootUrl: 'http://127.0.0.1:8085/',
      redisUrl: 'redis://127.0.0.1:6379',
      upstreamUrl: 'http://127.0.0.1:3000',
      trustProxy: 1,
      shutdownTimeoutSec: 5,
      usageHistoryTab: 'Daily usage',
    });
  });

  it('USAGE_HISTORY_TAB set but empty keeps no history', () => {
    expect(loadConfig({ USAGE_HISTORY_TAB: '' }).usageHistoryTab).toBeUndefined();
    expect(loadConfig({ USAGE_HISTORY_TAB: '   ' }).usageHistoryTab).toBeUndefined();
  });

  it('refuses a USAGE_HISTORY_TAB with a control character', () => {
    expect(configError({ USAGE_HISTORY_TAB: 'Usage\nlog' }).message).toContain(
      'USAGE_HISTORY_TAB="Usage\\nlog": expected a tab name of 1 to 100 printable characters',
    );
  });

  it('refuses a USAGE_HISTORY_TAB that names the key tab (any case), naming both variables', () => {
    const error = configError({ GOOGLE_SHEET_NAME: 'Keys', USAGE_HISTORY_TAB: 'KEYS' });
    expect(error.message).toContain('USAGE_HISTORY_TAB="KEYS": must differ from GOOGLE_SHEET_NAME');
    expect(configError({ USAGE_HISTORY_TAB: 'api_keys' }).message).toContain('USAGE_HISTORY_TAB="api_keys"');
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['AUTH_ENABLED', 'maybe'],
    ['AUTH_REQUIRED', 'sometimes'],
    ['API_KEY_CACHE_DURATION', '-5'],
    ['DEFAULT_RATE_LIMIT', '0'],
    ['DEFAULT_RATE_LIMIT', '1.5'],
    ['USAGE_FLUSH_INTERVAL', 'soon'],
    ['LOG_LEVEL', 'verbose'],
    ['GOOGLE_SHEETS_ROOT_URL', 'not a url'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['UPSTREAM_URL', 'ftp://x'],
    ['SHUTDOWN_TIMEOUT', 'soon'],
    ['SHUTDOWN_TIMEOUT', '-1'],
    ['SHUTDOWN_TIMEOUT', '2.5'],
    ['REFRESH_MIN_INTERVAL', '0'],
    ['REFRESH_MIN_INTERVAL', 'often'],
    ['CHANGE_POLL_INTERVAL', '-1'],
    ['CHANGE_POLL_INTERVAL', '2.5'],
    ['GOOGLE_DRIVE_ROOT_URL', 'not a url'],
    ['USAGE_HISTORY_TAB', 'x'.repeat(101)],
  ])('refuses %s=%s naming the variable and the value', (name, value) => {
    const error = configError({ [name]: value });
    expect(error.message).toContain(`${name}="${value}"`);
  });

  it.each([
    [{}, false],
    [{ NODE_ENV: 'development' }, false],
    [{ NODE_ENV: 'production' }, true],
    [{ NODE_ENV: 'production', AUTH_REQUIRED: 'false' }, false],
    [{ NODE_ENV: 'production', AUTH_REQUIRED: '' }, true],
    [{ NODE_ENV: 'test', AUTH_REQUIRED: 'true' }, true],
  ])('AUTH_REQUIRED defaults to true under NODE_ENV=production only: %j → %s', (env, required) => {
    expect(loadConfig(env).authRequired).toBe(required);
  });

  it.each([
    ['REDIS_URL', 'redis://:password@host:notaport', 'redis://:***@host:notaport'],
    ['REDIS_URL', 'http://admin:password@host:6379', 'http://admin:***@host:6379'],
    ['UPSTREAM_URL', 'ftp://user:password@host/', 'ftp://user:***@host/'],
    ['GOOGLE_SHEETS_ROOT_URL', 'http://user:password@host:bad/', 'http://user:***@host:bad/'],
  ])('names a bad %s with its password masked', (name, value, shown) => {
    const error = configError({ [name]: value });
    expect(error.message).toContain(`${name}="${shown}"`);
    expect(error.message).not.toContain('password');
  });

  it('defaults the reload bound to 10 s, change polling to 5 s, and Drive to the Sheets root URL when that is set', () => {
    expect(loadConfig({})).toMatchObject({
      refreshMinIntervalSec: 10,
      changePollIntervalSec: 5,
      driveRootUrl: undefined,
    });
    expect(loadConfig({ GOOGLE_SHEETS_ROOT_URL: 'http://127.0.0.1:8085/' }).driveRootUrl).toBe(
      'http://127.0.0.1:8085/',
    );
    expect(
      loadConfig({
        GOOGLE_SHEETS_ROOT_URL: 'http://127.0.0.1:8085/',
        GOOGLE_DRIVE_ROOT_URL: 'http://127.0.0.1:9090/',
        REFRESH_MIN_INTERVAL: '30',
        CHANGE_POLL_INTERVAL: '0',
      }),
    ).toMatchObject({ driveRootUrl: 'http://127.0.0.1:9090/', refreshMinIntervalSec: 30, changePollIntervalSec: 0 });
  });

  it('reports every bad variable at once', () => {
    expect(() => loadConfig({ PORT: 'x', LOG_LEVEL: 'y' })).toThrow(/PORT="x"[\s\S]*LOG_LEVEL="y"/);
  });
});

describe('missingCredentials', () => {
  it('names the missing variables', () => {
    expect(missingCredentials(loadConfig({}))).toBe('GOOGLE_CREDENTIALS_PATH and GOOGLE_SHEET_ID not set');
    expect(missingCredentials(loadConfig({ GOOGLE_SHEET_ID: 'x' }))).toBe('GOOGLE_CREDENTIALS_PATH not set');
  });

  it('reports a credentials file that does not exist', () => {
    const config = loadConfig({ GOOGLE_SHEET_ID: 'x', GOOGLE_CREDENTIALS_PATH: '/nope/sa.json' });
    expect(missingCredentials(config)).toMatch(/GOOGLE_CREDENTIALS_PATH=\/nope\/sa.json: file not found/);
  });

  it('is satisfied by an existing file and a sheet id', () => {
    const config = loadConfig({ GOOGLE_SHEET_ID: 'x', GOOGLE_CREDENTIALS_PATH: __filename });
    expect(missingCredentials(config)).toBeUndefined();
  });
});
