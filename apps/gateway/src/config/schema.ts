import { PROVIDER_KINDS } from '@gw/providers';
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from './config-error.ts';
import { formatPath } from '../format-path.ts';

const MIB = 1024 * 1024;

/** Default request body limit: 25 MiB. */
export const DEFAULT_BODY_LIMIT = 25 * MIB;

/** Routing strategies a model alias may name. */
export const ROUTING_STRATEGIES = ['round-robin', 'weighted', 'least-busy', 'latency', 'cost'] as const;

/** Routing strategies a model alias may name. */
export type RoutingStrategy = (typeof ROUTING_STRATEGIES)[number];

// `${VAR:-}` yields '' for an unset variable; for optional fields that means "not set".
const emptyToUndefined = (value: unknown): unknown => (value === '' || value === null ? undefined : value);

// Interpolated values are strings, so numbers and booleans also accept their string spelling.
const integer = (min: number, max: number) =>
  z.preprocess(
    (value) => (typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value),
    z
      .number({ error: `expected an integer from ${min} to ${max}` })
      .int(`expected an integer from ${min} to ${max}`)
      .min(min)
      .max(max),
  );

const positiveNumber = z.preprocess(
  (value) => (typeof value === 'string' && /^\s*\d+(?:\.\d+)?\s*$/.test(value) ? Number(value) : value),
  z.number({ error: 'expected a positive number' }).positive('expected a positive number'),
);

const boolean = z.preprocess(
  (value) => (value === 'true' ? true : value === 'false' ? false : value),
  z.boolean({ error: 'expected true or false' }),
);

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: MIB,
  mb: MIB,
  mib: MIB,
  g: 1024 * MIB,
  gb: 1024 * MIB,
  gib: 1024 * MIB,
};

/**
 * Parses a byte size: a number of bytes, or a string such as `"25mb"`, `"512kb"`, `"1gb"`.
 * Units are binary (`mb` = MiB), the way body limits are usually meant.
 *
 * @example
 * parseByteSize('25mb'); // 26214400
 */
export function parseByteSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  if (match === null) return undefined;
  const unit = SIZE_UNITS[(match[2] ?? '').toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.floor(Number(match[1]) * unit);
  return bytes > 0 && Number.isSafeInteger(bytes) ? bytes : undefined;
}

const byteSize = z.unknown().transform((value, context) => {
  const bytes = parseByteSize(value);
  if (bytes === undefined) {
    context.addIssue({ code: 'custom', message: 'expected a size in bytes or a string such as "25mb" or "512kb"' });
    return z.NEVER;
  }
  return bytes;
});

const optionalString = z.preprocess(emptyToUndefined, z.string().optional());
const optionalUrl = z.preprocess(
  emptyToUndefined,
  z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
);

// A browser origin as it sends it: scheme://host[:port], nothing after; or `*` for any origin.
const corsOrigin = z.string().refine((value) => value === '*' || /^https?:\/\/[^/\s?#]+$/.test(value), {
  message: 'expected an origin such as "https://app.example.com" (scheme, host and port, no path), or "*"',
});

// Cross-origin requests from browser apps to /v1/*: off unless origins are listed.
const corsSchema = z
  .strictObject({
    origins: z.array(corsOrigin).min(1),
    // Request headers a browser may send; empty: whatever its preflight asks for.
    allowHeaders: z.array(z.string().min(1)).default([]),
    // Response headers a page may read, besides the gateway's own (x-gw-*, x-ratelimit-*, retry-after, x-request-id).
    exposeHeaders: z.array(z.string().min(1)).default([]),
    // Cookies and HTTP auth sent along (Access-Control-Allow-Credentials); not with the `*` origin.
    credentials: boolean.default(false),
    // How long a browser may keep a preflight's answer (Access-Control-Max-Age).
    maxAgeSeconds: integer(0, 86_400).default(600),
  })
  .refine((cors) => !(cors.credentials && cors.origins.includes('*')), {
    message: 'credentials: true cannot be used with the "*" origin (browsers refuse it); list the origins',
    path: ['credentials'],
  });

const serverSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: integer(0, 65535).default(8787),
  bodyLimit: byteSize.default(DEFAULT_BODY_LIMIT),
  drainTimeoutMs: integer(0, 3_600_000).default(30_000),
  streamIdleTimeoutMs: integer(1, 3_600_000).default(120_000),
  // A longer `model` in a request is a 400: clients choose model names, and each name routed directly gets state.
  maxModelNameLength: integer(1, 100_000).default(400),
  // Request bodies nesting objects and arrays deeper than this are a 400 (json_too_deep).
  maxJsonDepth: integer(8, 10_000).default(64),
  // Behind a load balancer: the client's address (per-IP limits, logs) is the first X-Forwarded-For hop.
  trustProxy: boolean.default(false),
  cors: z.preprocess(emptyToUndefined, corsSchema.optional()),
});

// State (router, retry policy, breaker) of the models clients address directly as provider-id/model: kept for the
// most recently used ones only, bounded in entries and in the bytes of their names.
const directModelsSchema = z.strictObject({
  maxEntries: integer(1, 1_000_000).default(1000),
  maxBytes: byteSize.default(1024 * 1024),
});

// Retries of one deployment's calls (see @gw/retry's createRetryPolicy, same names and defaults).
const retrySchema = z.strictObject({
  maxRetries: integer(0, 10).default(2),
  baseDelayMs: integer(0, 600_000).default(500),
  maxDelayMs: integer(0, 600_000).default(30_000),
  deadlineMs: z.preprocess(emptyToUndefined, integer(1, 3_600_000).optional()),
});

// Retry settings a provider may override; unset keys keep the global ones.
const retryOverrideSchema = z.strictObject({
  maxRetries: integer(0, 10).optional(),
  baseDelayMs: integer(0, 600_000).optional(),
  maxDelayMs: integer(0, 600_000).optional(),
  deadlineMs: integer(1, 3_600_000).optional(),
});

// One circuit breaker per deployment (see @gw/retry's createCircuitBreaker).
const breakerSchema = z.strictObject({
  enabled: boolean.default(true),
  mode: z.enum(['consecutive', 'rate']).default('consecutive'),
  // consecutive: failures in a row; rate: the failure share (0-1) over windowMs.
  threshold: positiveNumber.default(5),
  halfOpenAfterMs: integer(1, 3_600_000).default(10_000),
  windowMs: integer(1, 3_600_000).default(60_000),
  minimumCalls: integer(1, 100_000).default(10),
});

const timeoutMs = z.preprocess(emptyToUndefined, integer(1, 86_400_000).optional());
const timeoutMsWithDefault = (ms: number) => z.preprocess(emptyToUndefined, integer(1, 86_400_000).default(ms));

// Global timeouts. Every call is bounded by default (connect, first byte, a pause in a JSON body, a JSON request as a
// whole, a silent stream) with values a reasoning model can live with: OpenAI's and Anthropic's own SDKs wait 10
// minutes for an answer. attemptMs and totalMs are off unless set; streamIdleMs falls back to
// server.streamIdleTimeoutMs.
const timeoutsSchema = z.strictObject({
  // A new upstream connection (TCP, TLS) must be established within this.
  connectMs: timeoutMsWithDefault(10_000),
  // Per attempt: the upstream's answer must begin (status and headers) within this. Vendors send a JSON answer's
  // head with its body, so this bounds a whole non-streamed answer (then retried like a 504).
  firstByteMs: timeoutMsWithDefault(600_000),
  // Per attempt: a JSON answer's body that pauses this long once begun is cut (then retried like a 504).
  bodyIdleMs: timeoutMsWithDefault(120_000),
  // A non-streamed request as a whole, retries and fallbacks included, unless totalMs says otherwise: a 504 past it.
  jsonTotalMs: timeoutMsWithDefault(600_000),
  // Per attempt: a JSON answer, or a stream's first chunk, must arrive within this (then retried like a 504).
  attemptMs: timeoutMs,
  // A stream that sends nothing for this long is ended with an error event.
  streamIdleMs: timeoutMs,
  // The whole request, retries and fallbacks and the stream included: answered 504 (or an error event) past it.
  totalMs: timeoutMs,
});

// What an upstream may make the gateway hold: past either, the answer is refused (502 upstream_response_too_large,
// or an error event mid-stream), its connection closed and what was read let go.
const upstreamSchema = z.strictObject({
  // The bytes of one JSON answer (or error body): 64 MiB holds a batch of 2,048 embeddings of 3,072 dimensions in
  // base64, what OpenAI's SDKs ask for.
  maxResponseBytes: byteSize.default(64 * MIB),
  // The characters of one streamed event while it is read: images and long tool arguments fit many times over.
  maxEventSize: byteSize.default(16 * MIB),
});

const providerTimeoutsSchema = z.strictObject({ attemptMs: timeoutMs });
const modelTimeoutsSchema = z.strictObject({ attemptMs: timeoutMs, streamIdleMs: timeoutMs, totalMs: timeoutMs });

// Active probes: every enabled provider's healthCheck() on a timer (off unless probeIntervalMs is set).
const healthSchema = z.strictObject({
  probeIntervalMs: z.preprocess(emptyToUndefined, integer(1000, 86_400_000).optional()),
  probeTimeoutMs: integer(1, 600_000).default(5_000),
});

const providerSchema = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z0-9][\w.-]*$/i, 'expected letters, digits, ".", "_" or "-" (no "/": clients address "<id>/<model>")'),
  kind: z.enum(PROVIDER_KINDS, {
    error: () => `unknown provider kind (expected one of: ${PROVIDER_KINDS.join(', ')})`,
  }),
  apiKey: optionalString,
  baseUrl: optionalUrl,
  headers: z.record(z.string(), z.string()).optional(),
  // When set, clients may address only these models directly as <id>/<model> (others are 404); aliases are not limited.
  models: z.array(z.string().min(1)).optional(),
  maxConcurrency: z.preprocess(emptyToUndefined, integer(1, 100_000).optional()),
  // With maxConcurrency: calls waiting beyond this are refused (503), as are calls that waited longer than maxQueueMs.
  maxQueue: z.preprocess(emptyToUndefined, integer(0, 1_000_000).optional()),
  maxQueueMs: z.preprocess(emptyToUndefined, integer(1, 3_600_000).optional()),
  // With maxConcurrency: the cap follows the upstream (AIMD), halved on its 429/503/529 and timeouts, raised by one
  // per round of successes, between min and max (default: maxConcurrency).
  adaptiveConcurrency: z
    .strictObject({
      min: integer(1, 100_000).default(1),
      max: z.preprocess(emptyToUndefined, integer(1, 100_000).optional()),
    })
    .optional(),
  retry: retryOverrideSchema.optional(),
  timeouts: providerTimeoutsSchema.optional(),
  // azure-openai: a dated api-version or "v1".
  apiVersion: optionalString,
  // bedrock: region, and SigV4 credentials (without them, apiKey is sent as a Bedrock API key).
  region: optionalString,
  accessKeyId: optionalString,
  secretAccessKey: optionalString,
  sessionToken: optionalString,
});

const targetSchema = z.strictObject({
  provider: z.string().min(1),
  model: z.string().min(1),
  weight: positiveNumber.default(1),
  // The model this deployment serves when its name does not say (an Azure deployment, a vLLM served name): priced as it.
  baseModel: optionalString,
});

const modelSchema = z.strictObject({
  name: z.string().min(1),
  strategy: z.enum(ROUTING_STRATEGIES).default('round-robin'),
  targets: z.array(targetSchema).min(1, 'expected at least one target'),
  fallbacks: z.array(z.string().min(1)).default([]),
  // Tried instead of `fallbacks` when the prompt does not fit (context_window) or a safety filter refused (content_filter).
  contextWindowFallbacks: z.array(z.string().min(1)).default([]),
  contentFilterFallbacks: z.array(z.string().min(1)).default([]),
  timeouts: modelTimeoutsSchema.optional(),
  // The response cache for this alias: on or off whatever cache.enabled says, and its own TTL.
  cache: z
    .strictObject({
      enabled: boolean.optional(),
      ttlSeconds: integer(1, 31_536_000).optional(),
    })
    .optional(),
});

const currencyCode = z.string().regex(/^[A-Z]{3}$/, 'expected a three-letter currency code such as USD or CNY');
// Decimal currency units per 1M tokens, as vendors publish them.
const perMillion = z.union([
  z.number().nonnegative('expected a price of 0 or more'),
  z.string().regex(/^\d+(?:\.\d+)?$/, 'expected a price such as 0.15'),
]);

// One pricing.models entry: per 1M tokens, in `currency` (default the reporting currency).
const priceOverrideSchema = z
  .strictObject({
    input: perMillion,
    output: perMillion.optional(),
    cachedInput: perMillion.optional(),
    // Anthropic's 5-minute cache writes (and every vendor's only kind); cacheWrite1h for the 1-hour ones.
    cacheWrite: perMillion.optional(),
    cacheWrite1h: perMillion.optional(),
    reasoning: perMillion.optional(),
    mode: z.enum(['chat', 'embedding']).optional(),
    currency: currencyCode.optional(),
  })
  .refine((price) => price.mode === 'embedding' || price.output !== undefined, {
    path: ['output'],
    message: 'a chat model needs an output price (or mode: embedding)',
  });

const pricingSchema = z.strictObject({
  // The currency costs are reported, budgeted and stored in.
  currency: currencyCode.default('USD'),
  // Units of each other currency per 1 unit of the reporting currency, e.g. { CNY: 7.1 } for USD.
  rates: z.record(currencyCode, positiveNumber).default({}),
  // A LiteLLM model_prices_and_context_window.json file, preferred over the built-in catalog.
  catalog: optionalString,
  // Overrides, by "provider-id/model" or a bare upstream model name.
  models: z.record(z.string().min(1), priceOverrideSchema).default({}),
});

// The SQL database: the usage ledger (and, with later features, keys, providers and stored responses).
const storageSchema = z.strictObject({
  // sqlite://<path> (the default, nothing to install), sqlite::memory:, or postgres://…
  url: z.preprocess(emptyToUndefined, z.string().min(1).default('sqlite://./data/gateway.db')),
  // One row per request that reached routing. Off: nothing is recorded (the admin usage views stay empty).
  ledger: boolean.default(true),
  // Rows older than this many days are deleted, once a day; 0 keeps them forever.
  retentionDays: integer(0, 36_500).default(90),
  // Where rows go while the database is unreachable and the memory buffer is full; replayed when it is back.
  spillPath: z.string().min(1).default('./data/ledger-spill.jsonl'),
  // A partial batch is written this long after its first row.
  flushIntervalMs: integer(10, 60_000).default(1000),
  // Rows kept in memory while the database lags or is down, before they spill to the file.
  maxBuffered: integer(100, 10_000_000).default(10_000),
});

// Prometheus metrics at GET /metrics.
const metricsSchema = z.strictObject({
  enabled: boolean.default(true),
  // When set, /metrics asks for `Authorization: Bearer <token>`; open otherwise.
  bearerToken: optionalString,
  // Adds a `key` label (virtual key id) to requests, tokens and cost: one series per key.
  perKey: boolean.default(false),
});

// A rate: requests and/or tokens per minute.
const rateSchema = z.strictObject({
  rpm: z.preprocess(emptyToUndefined, integer(1, 1_000_000_000).optional()),
  tpm: z.preprocess(emptyToUndefined, integer(1, 1_000_000_000_000).optional()),
});

const deploymentLimitSchema = z.strictObject({
  // A provider id; with `model`, only that upstream model of it (the vendor's per-model tier).
  provider: z.string().min(1),
  model: optionalString,
  rpm: z.preprocess(emptyToUndefined, integer(1, 1_000_000_000).optional()),
  tpm: z.preprocess(emptyToUndefined, integer(1, 1_000_000_000_000).optional()),
  // How long a call may wait for the deployment's limit before the router moves on to another target (0: at once).
  maxWaitMs: integer(0, 600_000).default(0),
});

// Rate limits of the gateway itself; per-key limits live on the keys (POST /admin/keys).
const limitsSchema = z.strictObject({
  // What happens while Redis is unreachable: let requests through uncounted (open) or refuse them with 503 (closed).
  failMode: z.enum(['open', 'closed']).default('open'),
  // Every request of every client together.
  global: rateSchema.optional(),
  // Per client IP address (the socket's, or the first X-Forwarded-For hop when server.trustProxy is on).
  perIp: rateSchema.optional(),
  // Per deployment: the vendor's own tier, so the router moves on (or waits) instead of collecting 429s.
  deployments: z.array(deploymentLimitSchema).default([]),
  // The output a request is assumed to produce when it names no max_tokens and the model's maximum is unknown:
  // what its TPM debit and budget reservation count until the real usage is known.
  defaultMaxTokens: integer(1, 10_000_000).default(4096),
});

const budgetSchema = z.strictObject({
  // In the reporting currency (pricing.currency).
  amount: positiveNumber,
  period: z.enum(['day', 'month', 'total']),
});

const budgetsSchema = z.strictObject({
  // Spending caps over every request (keys' own budgets come with the keys).
  global: z.preprocess(
    (value) => (value !== null && typeof value === 'object' && !Array.isArray(value) ? [value] : value),
    z.array(budgetSchema).default([]),
  ),
  // What happens while Redis is unreachable: let requests through unreserved (open) or refuse them with 503 (closed).
  failMode: z.enum(['open', 'closed']).default('open'),
  // A reservation a crashed process never settled stops counting after this long.
  reservationTtlMs: integer(1000, 86_400_000).default(600_000),
});

// The exact-match response cache (docs/cache.md). Its store and size are read at start; the rest follows reloads.
const cacheSchema = z.strictObject({
  // The default of every alias (models[].cache.enabled overrides it; `x-gw-cache: on|off` overrides both).
  enabled: boolean.default(false),
  // memory: this process's LRU; redis: shared by every process on redis.url.
  store: z.enum(['memory', 'redis']).default('memory'),
  // memory: the answers kept, in bytes of their stored JSON; the least recently used go first.
  maxBytes: byteSize.default(64 * MIB),
  ttlSeconds: integer(1, 31_536_000).default(3600),
  // Also cache answers that were sampled (temperature > 0 or unset, top_p < 1, n > 1): repeats get the same answer.
  cacheSampled: boolean.default(false),
  // key: each virtual key has a cache of its own; global: every key shares one.
  scope: z.enum(['key', 'global']).default('key'),
});

// Files and batches run by the gateway itself (docs/batches.md).
const batchesSchema = z.strictObject({
  // Off: /v1/files and /v1/batches answer 404 and no batch runs in this process.
  enabled: boolean.default(true),
  // An uploaded batch file larger than this is refused with 413 (OpenAI's limit is 200 MB; the contents live in the
  // database, so the default is lower).
  maxFileBytes: byteSize.default(100 * MIB),
  // Requests in one batch file (OpenAI's limit).
  maxLines: integer(1, 1_000_000).default(50_000),
  // Lines this process runs at once, over every batch (each deployment's maxConcurrency still applies).
  concurrency: integer(1, 10_000).default(8),
  // Queue priority of batch lines (0 first, 9 last): live traffic at the default 5 goes first.
  priority: integer(0, 9).default(9),
  // Attempts per line when the answer is retryable (429, 5xx, a queue timeout), each after the routing's own retries.
  maxAttempts: integer(1, 100).default(3),
  // A running line is leased to its process for this long, renewed while it runs; a line whose lease ran out (its
  // process died) is run again by any process.
  leaseMs: integer(1000, 3_600_000).default(60_000),
  // How often the runner looks for work in the database (a batch created in this process wakes it at once).
  pollMs: integer(10, 60_000).default(1000),
});

/** The configuration schema (zod): every object is strict, so a misspelt key is refused by name. */
export const gatewayConfigSchema = z
  .strictObject({
    server: serverSchema.prefault({}),
    auth: z.strictObject({ masterKey: optionalString }).prefault({}),
    storage: storageSchema.prefault({}),
    // POST /v1/responses with `store` (the default): kept in the database (in memory without one) this many days,
    // for previous_response_id and GET /v1/responses/{id}; pruned once a day. 0 keeps them until deleted by hand.
    responses: z.strictObject({ retentionDays: integer(0, 36_500).default(30) }).prefault({}),
    redis: z
      .strictObject({
        // redis://… : limits, budgets and key revocations shared by every process using it.
        url: optionalString,
        // Prefix of every key the gateway writes, so several gateways can share one Redis.
        prefix: z.string().min(1).default('gw:'),
        // A rate limit, budget or max_parallel call that Redis has not answered within this follows the fail modes.
        timeoutMs: integer(1, 60_000).default(100),
      })
      .prefault({}),
    logging: z
      .strictObject({
        level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
        // One access line per request (with its deployment, tokens and cost once it reached routing).
        requests: boolean.default(true),
        // The prompt and the answer in the access line, with e-mail addresses, phone and card numbers redacted.
        bodies: boolean.default(false),
      })
      .prefault({}),
    providers: z.array(providerSchema).default([]),
    models: z.array(modelSchema).default([]),
    directModels: directModelsSchema.prefault({}),
    retry: retrySchema.prefault({}),
    breaker: breakerSchema.prefault({}),
    timeouts: timeoutsSchema.prefault({}),
    upstream: upstreamSchema.prefault({}),
    health: healthSchema.prefault({}),
    metrics: metricsSchema.prefault({}),
    limits: limitsSchema.prefault({}),
    budgets: budgetsSchema.prefault({}),
    batches: batchesSchema.prefault({}),
    cache: cacheSchema.prefault({}),
    pricing: pricingSchema.prefault({}),
  })
  .superRefine((config, context) => {
    if (config.cache.store === 'redis' && config.redis.url === undefined) {
      context.addIssue({ code: 'custom', path: ['cache', 'store'], message: 'redis needs redis.url' });
    }
    const providerIndex = new Map<string, number>();
    config.providers.forEach((provider, index) => {
      const adaptive = provider.adaptiveConcurrency;
      if (adaptive !== undefined) {
        if (provider.maxConcurrency === undefined) {
          context.addIssue({
            code: 'custom',
            path: ['providers', index, 'adaptiveConcurrency'],
            message: 'needs maxConcurrency (the starting cap of the queue it steers)',
          });
        } else if (adaptive.min > (adaptive.max ?? provider.maxConcurrency)) {
          context.addIssue({
            code: 'custom',
            path: ['providers', index, 'adaptiveConcurrency', 'min'],
            message: 'must not be above max (default: maxConcurrency)',
          });
        }
      }
      const first = providerIndex.get(provider.id);
      if (first === undefined) providerIndex.set(provider.id, index);
      else
        context.addIssue({
          code: 'custom',
          path: ['providers', index, 'id'],
          message: `duplicate provider id (first used at providers[${first}].id)`,
        });
    });
    const modelIndex = new Map<string, number>();
    config.models.forEach((model, index) => {
      const first = modelIndex.get(model.name);
      if (first === undefined) modelIndex.set(model.name, index);
      else
        context.addIssue({
          code: 'custom',
          path: ['models', index, 'name'],
          message: `duplicate model name (first used at models[${first}].name)`,
        });
    });
    const known = [...providerIndex.keys()].join(', ') || 'none configured';
    // A demo answer must never stand in for a real model's unnoticed: demo targets and fallbacks stay among themselves.
    const demoProviders = new Set(
      config.providers.filter((provider) => provider.kind === 'demo').map((provider) => provider.id),
    );
    const isDemoModel = (model: (typeof config.models)[number]): boolean =>
      model.targets.some((target) => demoProviders.has(target.provider));
    const modelByName = new Map(config.models.map((model) => [model.name, model]));
    config.models.forEach((model, index) => {
      const demo = isDemoModel(model);
      model.targets.forEach((target, targetIndex) => {
        if (!providerIndex.has(target.provider)) {
          context.addIssue({
            code: 'custom',
            path: ['models', index, 'targets', targetIndex, 'provider'],
            message: `unknown provider (known: ${known})`,
          });
        } else if (demo && !demoProviders.has(target.provider)) {
          context.addIssue({
            code: 'custom',
            path: ['models', index, 'targets', targetIndex, 'provider'],
            message: 'a model with a demo target cannot also have real ones (demo answers are canned)',
          });
        }
      });
      for (const key of ['fallbacks', 'contextWindowFallbacks', 'contentFilterFallbacks'] as const) {
        model[key].forEach((fallback, fallbackIndex) => {
          if (!modelIndex.has(fallback)) {
            context.addIssue({
              code: 'custom',
              path: ['models', index, key, fallbackIndex],
              message: `unknown model (known: ${[...modelIndex.keys()].join(', ')})`,
            });
          } else if (fallback === model.name) {
            context.addIssue({
              code: 'custom',
              path: ['models', index, key, fallbackIndex],
              message: `a model cannot fall back to itself`,
            });
          } else if (!demo && isDemoModel(modelByName.get(fallback) ?? model)) {
            context.addIssue({
              code: 'custom',
              path: ['models', index, key, fallbackIndex],
              message: 'a model with real targets cannot fall back to a demo model (demo answers are canned)',
            });
          }
        });
      }
    });
  });

/** A validated configuration with every default filled in. */
export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
/** One configured provider. */
export type ProviderSettings = GatewayConfig['providers'][number];
/** One model alias. */
export type ModelSettings = GatewayConfig['models'][number];

/**
 * Validates an already interpolated configuration object and fills in defaults. Throws a
 * {@link ConfigError} listing every problem by field path; values are never echoed, so a
 * misplaced secret cannot end up in the output.
 *
 * @example
 * const config = validateConfig({ providers: [{ id: 'openai', kind: 'openai', apiKey: 'sk-...' }] });
 */
export function validateConfig(raw: unknown, options: { source?: string } = {}): GatewayConfig {
  const result = gatewayConfigSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const issues: ConfigIssue[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) issues.push({ path: formatPath([...issue.path, key]), message: 'unknown key' });
    } else {
      issues.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  throw new ConfigError(issues, options.source === undefined ? {} : { source: options.source });
}
