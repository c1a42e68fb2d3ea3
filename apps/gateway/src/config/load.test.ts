import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { isConfigError, type ConfigError } from './config-error.ts';
import { loadConfig, parseConfig, parseConfigText } from './load.ts';

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (isConfigError(error)) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const provider = { id: 'openai', kind: 'openai', apiKey: 'sk-abc' };

describe('parseConfig', () => {
  it('fills every default from an empty document', () => {
    const config = parseConfig({}, { env: {} });
    expect(config.server).toEqual({
      host: '127.0.0.1',
      port: 8787,
      bodyLimit: 25 * 1024 * 1024,
      drainTimeoutMs: 30_000,
      streamIdleTimeoutMs: 120_000,
      maxModelNameLength: 400,
      maxJsonDepth: 64,
      trustProxy: false,
    });
    expect(config.directModels).toEqual({ maxEntries: 1000, maxBytes: 1024 * 1024 });
    expect(config.auth.masterKey).toBeUndefined();
    expect(config.logging).toEqual({ level: 'info', requests: true, bodies: false });
    expect(config.providers).toEqual([]);
    expect(config.models).toEqual([]);
  });

  it('fills target and model defaults', () => {
    const config = parseConfig(
      { providers: [provider], models: [{ name: 'chat', targets: [{ provider: 'openai', model: 'gpt-4o-mini' }] }] },
      { env: {} },
    );
    expect(config.models[0]).toEqual({
      name: 'chat',
      strategy: 'round-robin',
      fallbacks: [],
      contextWindowFallbacks: [],
      contentFilterFallbacks: [],
      targets: [{ provider: 'openai', model: 'gpt-4o-mini', weight: 1 }],
    });
    expect(config.retry).toEqual({ maxRetries: 2, baseDelayMs: 500, maxDelayMs: 30_000 });
    expect(config.breaker).toMatchObject({ enabled: true, mode: 'consecutive', threshold: 5, halfOpenAfterMs: 10_000 });
  });

  it('lets PORT override server.port', () => {
    expect(parseConfig({ server: { port: 9000 } }, { env: { PORT: '7000' } }).server.port).toBe(7000);
    expect(configError(() => parseConfig({}, { env: { PORT: 'eighty' } })).issues[0]?.path).toBe('PORT (environment)');
  });

  it('lets HOST override server.host (a container listens on 0.0.0.0), an empty HOST leaves it alone', () => {
    expect(parseConfig({ server: { host: '127.0.0.1' } }, { env: { HOST: '0.0.0.0' } }).server.host).toBe('0.0.0.0');
    expect(parseConfig({ server: { host: '127.0.0.1' } }, { env: { HOST: ' :: ' } }).server.host).toBe('::');
    expect(parseConfig({ server: { host: '10.0.0.5' } }, { env: { HOST: '' } }).server.host).toBe('10.0.0.5');
    expect(parseConfig({}, { env: {} }).server.host).toBe('127.0.0.1');
  });

  it('keeps demo providers among themselves: no mixed targets, no fallback from a real model to a demo one', () => {
    const providers = [
      { id: 'openai', kind: 'openai', apiKey: 'sk-test-1234' },
      { id: 'demo', kind: 'demo' },
    ];
    const demo = { name: 'demo', targets: [{ provider: 'demo', model: 'demo-echo' }] };
    expect(parseConfig({ providers, models: [demo] }).models.map((model) => model.name)).toEqual(['demo']);
    const mixed = configError(() =>
      parseConfig({
        providers,
        models: [
          {
            name: 'chat',
            targets: [
              { provider: 'demo', model: 'demo-echo' },
              { provider: 'openai', model: 'gpt-4o-mini' },
            ],
          },
        ],
      }),
    );
    expect(mixed.issues).toEqual([
      {
        path: 'models[0].targets[1].provider',
        message: 'a model with a demo target cannot also have real ones (demo answers are canned)',
      },
    ]);
    const fallback = configError(() =>
      parseConfig({
        providers,
        models: [{ name: 'chat', targets: [{ provider: 'openai', model: 'gpt-4o-mini' }], fallbacks: ['demo'] }, demo],
      }),
    );
    expect(fallback.issues).toEqual([
      {
        path: 'models[0].fallbacks[0]',
        message: 'a model with real targets cannot fall back to a demo model (demo answers are canned)',
      },
    ]);
  });

  it('accepts interpolated numbers, booleans and sizes as strings', () => {
    const config = parseConfig(
      {
        server: { port: '${P}', bodyLimit: '${LIMIT}', drainTimeoutMs: '5000' },
        logging: { requests: '${LOG_REQUESTS:-true}' },
      },
      { env: { P: '9100', LIMIT: '512kb' } },
    );
    expect(config.server.port).toBe(9100);
    expect(config.server.bodyLimit).toBe(512 * 1024);
    expect(config.server.drainTimeoutMs).toBe(5000);
    expect(config.logging.requests).toBe(true);
  });

  it('parses body limits in bytes and with units', () => {
    expect(parseConfig({ server: { bodyLimit: 1000 } }, { env: {} }).server.bodyLimit).toBe(1000);
    expect(parseConfig({ server: { bodyLimit: '25mb' } }, { env: {} }).server.bodyLimit).toBe(25 * 1024 * 1024);
    expect(parseConfig({ server: { bodyLimit: '100 MB' } }, { env: {} }).server.bodyLimit).toBe(100 * 1024 * 1024);
    expect(configError(() => parseConfig({ server: { bodyLimit: 'lots' } }, { env: {} })).issues[0]?.path).toBe(
      'server.bodyLimit',
    );
  });

  it('treats an empty interpolated key or URL as not set', () => {
    const config = parseConfig(
      {
        auth: { masterKey: '${GW_MASTER_KEY:-}' },
        providers: [{ id: 'o', kind: 'openai', apiKey: '${K:-}', baseUrl: '${U:-}' }],
      },
      { env: {} },
    );
    expect(config.auth.masterKey).toBeUndefined();
    expect(config.providers[0]?.apiKey).toBeUndefined();
    expect(config.providers[0]?.baseUrl).toBeUndefined();
  });

  it('refuses an unknown key by name, with its path', () => {
    const error = configError(() =>
      parseConfig({ providers: [provider, { id: 'b', kind: 'openai', bseUrl: 'http://x' }] }, { env: {} }),
    );
    expect(error.issues).toContainEqual({ path: 'providers[1].bseUrl', message: 'unknown key' });
    expect(error.message).toContain('providers[1].bseUrl: unknown key');
  });

  it('refuses unknown keys at the top level and in every section', () => {
    const error = configError(() =>
      parseConfig(
        {
          sever: {},
          server: { prot: 1 },
          models: [{ name: 'm', targets: [{ provider: 'x', model: 'y', wieght: 2 }] }],
        },
        { env: {} },
      ),
    );
    const paths = error.issues.map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['sever', 'server.prot', 'models[0].targets[0].wieght']));
  });

  it('names the field of a bad provider kind and the kinds it accepts, without echoing what it holds', () => {
    const error = configError(() =>
      parseConfig({ providers: [{ id: 'a', kind: 'sk-pasted-here-1234' }] }, { env: {} }),
    );
    expect(error.issues[0]?.path).toBe('providers[0].kind');
    expect(error.issues[0]?.message).toContain('openai-compatible');
    expect(error.message).not.toContain('sk-pasted-here-1234');
  });

  it('echoes no value in any message, whichever field holds it', () => {
    const secret = 'sk-secret-value-987654321';
    const error = configError(() =>
      parseConfig(
        {
          server: { port: secret, host: 7 },
          providers: [{ id: secret, kind: secret, baseUrl: secret, maxConcurrency: secret }],
          models: [
            { name: secret, targets: [{ provider: secret, model: 'x' }], fallbacks: [secret], strategy: secret },
          ],
          retry: { maxRetries: secret },
        },
        { env: {} },
      ),
    );
    expect(error.issues.length).toBeGreaterThan(5);
    expect(error.message).not.toContain('secret-value');
  });

  it('names a missing environment variable and where it is used', () => {
    const error = configError(() =>
      parseConfig({ providers: [{ id: 'a', kind: 'openai', apiKey: '${MY_OPENAI_KEY}' }] }, { env: {} }),
    );
    expect(error.issues[0]?.path).toBe('providers[0].apiKey');
    expect(error.message).toContain('MY_OPENAI_KEY');
  });

  it('checks cross references and duplicates by path', () => {
    const error = configError(() =>
      parseConfig(
        {
          providers: [provider, { ...provider }],
          models: [
            { name: 'chat', targets: [{ provider: 'missing', model: 'x' }], fallbacks: ['nope'] },
            { name: 'chat', targets: [{ provider: 'openai', model: 'x' }] },
          ],
        },
        { env: {} },
      ),
    );
    const paths = error.issues.map((issue) => issue.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'providers[1].id',
        'models[0].targets[0].provider',
        'models[0].fallbacks[0]',
        'models[1].name',
      ]),
    );
  });

  it('refuses a model without targets and a bad strategy', () => {
    const error = configError(() =>
      parseConfig({ models: [{ name: 'm', strategy: 'random', targets: [] }] }, { env: {} }),
    );
    expect(error.issues.map((issue) => issue.path)).toEqual(
      expect.arrayContaining(['models[0].strategy', 'models[0].targets']),
    );
  });

  it('never echoes secret values in errors', () => {
    const error = configError(() =>
      parseConfig(
        {
          auth: { masterKey: 987654321987 },
          providers: [{ id: 'a', kind: 'openai', apiKey: 123456789123, headers: { 'api-key': 55555555555 } }],
        },
        { env: {} },
      ),
    );
    expect(error.issues.map((issue) => issue.path)).toEqual(
      expect.arrayContaining(['auth.masterKey', 'providers[0].apiKey', 'providers[0].headers.api-key']),
    );
    expect(error.message).not.toMatch(/987654321987|123456789123|55555555555/);
  });

  it('reads the cache section with its defaults, and refuses a misspelt key or a redis store without redis', () => {
    const config = parseConfig({ cache: { enabled: 'true', maxBytes: '1mb', ttlSeconds: '60' } }, { env: {} });
    expect(config.cache).toEqual({
      enabled: true,
      store: 'memory',
      maxBytes: 1024 * 1024,
      ttlSeconds: 60,
      cacheSampled: false,
      scope: 'key',
    });
    expect(parseConfig({}, { env: {} }).cache.enabled).toBe(false);
    expect(configError(() => parseConfig({ cache: { ttl: 60 } }, { env: {} })).issues[0]?.path).toBe('cache.ttl');
    expect(configError(() => parseConfig({ cache: 'fast' }, { env: {} })).issues[0]?.path).toBe('cache');
    expect(configError(() => parseConfig({ cache: { store: 'redis' } }, { env: {} })).issues[0]).toEqual({
      path: 'cache.store',
      message: 'redis needs redis.url',
    });
    const perAlias = configError(() =>
      parseConfig(
        {
          providers: [{ id: 'up', kind: 'openai' }],
          models: [{ name: 'chat', targets: [{ provider: 'up', model: 'm' }], cache: { ttlSeconds: 0 } }],
        },
        { env: {} },
      ),
    );
    expect(perAlias.issues[0]?.path).toBe('models[0].cache.ttlSeconds');
  });

  it('reads limits and budgets, and refuses misspelt or out-of-range values by name', () => {
    const config = parseConfig(
      {
        limits: {
          global: { rpm: '600' },
          perIp: { rpm: 60, tpm: 100000 },
          deployments: [{ provider: 'openai', model: 'gpt-4o', tpm: 30000 }],
        },
        budgets: { global: { amount: 25.5, period: 'day' } },
      },
      { env: {} },
    );
    expect(config.limits).toEqual({
      failMode: 'open',
      global: { rpm: 600 },
      perIp: { rpm: 60, tpm: 100000 },
      deployments: [{ provider: 'openai', model: 'gpt-4o', tpm: 30000, maxWaitMs: 0 }],
      defaultMaxTokens: 4096,
    });
    // One global budget or a list of them.
    expect(config.budgets).toEqual({
      global: [{ amount: 25.5, period: 'day' }],
      failMode: 'open',
      reservationTtlMs: 600_000,
    });
    expect(configError(() => parseConfig({ limits: { rpm: 3 } }, { env: {} })).issues[0]?.path).toBe('limits.rpm');
    expect(
      configError(() => parseConfig({ budgets: { global: [{ amount: 5, period: 'week' }] } }, { env: {} })).issues[0]
        ?.path,
    ).toBe('budgets.global[0].period');
    expect(configError(() => parseConfig({ limits: { failMode: 'ajar' } }, { env: {} })).issues[0]?.path).toBe(
      'limits.failMode',
    );
  });

  it('reads pricing, and refuses a bad currency, rate or price by name', () => {
    const config = parseConfig(
      {
        pricing: {
          rates: { CNY: '7.1' },
          models: {
            'openai/gpt-4o-mini': { input: 0.15, output: '0.60', cachedInput: 0.075 },
            'my-embedder': { input: 0.02, mode: 'embedding' },
          },
        },
      },
      { env: {} },
    );
    expect(config.pricing).toMatchObject({ currency: 'USD', rates: { CNY: 7.1 } });
    const pathOf = (pricing: Record<string, unknown>) =>
      configError(() => parseConfig({ pricing }, { env: {} })).issues.map((issue) => issue.path);
    expect(pathOf({ currency: 'usd' })).toEqual(['pricing.currency']);
    expect(pathOf({ rates: { CNY: 0 } })).toEqual(['pricing.rates.CNY']);
    expect(pathOf({ models: { 'my-model': { input: 1 } } })).toEqual(['pricing.models.my-model.output']);
    expect(pathOf({ models: { 'my-model': { input: '1,5', output: 2 } } })).toEqual(['pricing.models.my-model.input']);
  });

  it('checks the retry, breaker and timeouts sections by name', () => {
    expect(configError(() => parseConfig({ retry: { attempts: 3 } }, { env: {} })).issues[0]?.path).toBe(
      'retry.attempts',
    );
    expect(configError(() => parseConfig({ breaker: { mode: 'sometimes' } }, { env: {} })).issues[0]?.path).toBe(
      'breaker.mode',
    );
    expect(parseConfig({ retry: { maxRetries: '0' }, timeouts: { attemptMs: 5000 } }, { env: {} })).toMatchObject({
      retry: { maxRetries: 0 },
      timeouts: { attemptMs: 5000 },
    });
    const models = [
      { name: 'a', targets: [{ provider: 'openai', model: 'm' }], contextWindowFallbacks: ['nope'] },
      { name: 'b', targets: [{ provider: 'openai', model: 'm' }], fallbacks: ['b'] },
    ];
    const issues = configError(() => parseConfig({ providers: [provider], models }, { env: {} })).issues;
    expect(issues.map((issue) => issue.path)).toEqual([
      'models[0].contextWindowFallbacks[0]',
      'models[1].fallbacks[0]',
    ]);
  });
});

describe('parseConfigText', () => {
  it('parses the documented flow style with unquoted ${...} references', () => {
    const text = [
      'server: { host: 127.0.0.1, port: 8787 }',
      'auth: { masterKey: ${GW_MASTER_KEY:-} }',
      'storage: { url: ${DATABASE_URL:-sqlite://./data/gateway.db} }',
      'redis: { url: ${REDIS_URL:-} }',
      'providers:',
      '  - id: openai',
      '    kind: openai',
      '    apiKey: ${OPENAI_API_KEY:-}',
      '    baseUrl: https://api.openai.com/v1',
      'models:',
      '  - name: chat',
      '    strategy: weighted',
      '    targets:',
      '      - { provider: openai, model: gpt-4o-mini, weight: 3 }',
    ].join('\n');
    const config = parseConfigText(text, { env: { GW_MASTER_KEY: 'master-secret', OPENAI_API_KEY: 'sk-live' } });
    expect(config.auth.masterKey).toBe('master-secret');
    expect(config.storage.url).toBe('sqlite://./data/gateway.db');
    expect(config.providers[0]?.apiKey).toBe('sk-live');
    expect(config.models[0]?.targets[0]?.weight).toBe(3);
  });

  it('takes REDIS_URL when redis.url is unset, and never over the file', () => {
    expect(parseConfigText('providers: []', { env: { REDIS_URL: 'redis://cache:6379' } }).redis.url).toBe(
      'redis://cache:6379',
    );
    expect(parseConfigText('providers: []', { env: {} }).redis.url).toBeUndefined();
    const named = parseConfigText('redis: { url: redis://own:6380 }', { env: { REDIS_URL: 'redis://cache:6379' } });
    expect(named.redis.url).toBe('redis://own:6380');
  });

  it('reports YAML syntax errors with line and column but without the offending text', () => {
    const error = configError(() =>
      parseConfigText('providers:\n  - id: a\n    apiKey: "sk-very-secret\n', { env: {}, source: 'x.yaml' }),
    );
    expect(error.message).toMatch(/line \d+, column \d+/);
    expect(error.message).not.toContain('sk-very-secret');
  });

  it('refuses a YAML alias bomb and says why', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let level = 1; level <= 8; level += 1) {
      const previous = String.fromCharCode(96 + level);
      const name = String.fromCharCode(97 + level);
      lines.push(`${name}: &${name} [${Array.from({ length: 10 }, () => `*${previous}`).join(',')}]`);
    }
    const error = configError(() => parseConfigText(lines.join('\n'), { env: {}, source: 'bomb.yaml' }));
    expect(error.message).toContain('YAML document refused');
    expect(error.message).toMatch(/alias/i);
  });

  it('validates the gateway.yaml shipped at the repository root', async () => {
    const root = fileURLToPath(new URL('../../../../', import.meta.url));
    const { config } = await loadConfig({ cwd: root, env: {} });
    expect(config.providers.map((entry) => entry.id)).toEqual(
      expect.arrayContaining(['openai', 'deepseek', 'zhipu', 'dashscope', 'moonshot', 'anthropic', 'ollama']),
    );
    expect(config.models.find((model) => model.name === 'chat')?.strategy).toBe('weighted');
    // The first run's demo: a model of its own, the only one with the demo provider as a target.
    expect(config.providers.find((entry) => entry.id === 'demo')?.kind).toBe('demo');
    expect(
      config.models
        .filter((model) => model.targets.some((target) => target.provider === 'demo'))
        .map(({ name }) => name),
    ).toEqual(['demo']);
    expect(config.auth.masterKey).toBeUndefined();
  });

  it('states the default limits in the shipped gateway.yaml, with the values the gateway uses without them', async () => {
    const root = fileURLToPath(new URL('../../../../', import.meta.url));
    const text = await readFile(join(root, 'gateway.yaml'), 'utf8');
    const { config } = await loadConfig({ cwd: root, env: {} });
    const defaults = parseConfig({}, { env: {} });
    for (const key of ['connectMs', 'firstByteMs', 'bodyIdleMs', 'jsonTotalMs'] as const) {
      expect(text).toMatch(new RegExp(`^  ${key}: \\d+`, 'm'));
      expect(config.timeouts[key], key).toBe(defaults.timeouts[key]);
    }
    for (const key of ['maxResponseBytes', 'maxEventSize'] as const) {
      expect(text).toMatch(new RegExp(`^  ${key}: \\w+`, 'm'));
      expect(config.upstream[key], key).toBe(defaults.upstream[key]);
    }
    expect(defaults.timeouts).toMatchObject({ firstByteMs: 600_000, bodyIdleMs: 120_000, jsonTotalMs: 600_000 });
    expect(defaults.upstream).toEqual({ maxResponseBytes: 64 * 1024 * 1024, maxEventSize: 16 * 1024 * 1024 });
  });
});

describe('loadConfig', () => {
  let directory: string | undefined;
  afterEach(async () => {
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
    directory = undefined;
  });

  it('starts on embedded defaults when GW_CONFIG is unset and ./gateway.yaml is missing', async () => {
    directory = await mkdtemp(join(tmpdir(), 'gw-config-'));
    const loaded = await loadConfig({ cwd: directory, env: {} });
    expect(loaded.source).toBeUndefined();
    expect(loaded.config.providers).toEqual([]);
  });

  it('reads GW_CONFIG relative to cwd', async () => {
    directory = await mkdtemp(join(tmpdir(), 'gw-config-'));
    await writeFile(join(directory, 'custom.yaml'), 'server:\n  port: ${MY_PORT:-9999}\n');
    const loaded = await loadConfig({ cwd: directory, env: { GW_CONFIG: 'custom.yaml' } });
    expect(loaded.source).toBe(join(directory, 'custom.yaml'));
    expect(loaded.config.server.port).toBe(9999);
  });

  it('fails when GW_CONFIG names a file that does not exist', async () => {
    directory = await mkdtemp(join(tmpdir(), 'gw-config-'));
    await expect(loadConfig({ cwd: directory, env: { GW_CONFIG: 'missing.yaml' } })).rejects.toSatisfy(isConfigError);
  });

  it('names the file and the bad field of an invalid file', async () => {
    directory = await mkdtemp(join(tmpdir(), 'gw-config-'));
    await writeFile(join(directory, 'gateway.yaml'), 'providers:\n  - id: a\n    kind: openai\n    bseUrl: http://x\n');
    const failure = await loadConfig({ cwd: directory, env: {} }).catch((error: unknown) => error);
    const message = isConfigError(failure) ? failure.message : 'not a ConfigError';
    expect(message).toContain('gateway.yaml');
    expect(message).toContain('providers[0].bseUrl: unknown key');
  });
});
