import type { Money } from '@gw/cost';
import { PROVIDER_KINDS, type ProviderKind } from '@gw/providers';
import type { Context } from 'hono';
import { z } from 'zod';
import type { GatewayConfig } from '../config/schema.ts';
import { GatewayError } from '../gateway-error.ts';
import type { Logger } from '../observability/logger.ts';
import type { RequestOutcome } from '../settle/settle-once.ts';
import { cacheKey, type CacheEndpoint } from './cache-key.ts';
import type { CacheStore } from './cache-store.ts';

/** An answer found in the cache, with where it came from and what it cost then. */
export interface CachedAnswer<T> {
  readonly response: T;
  readonly providerId: string;
  readonly kind: ProviderKind | undefined;
  readonly upstreamModel: string;
  /** What the original request cost (in the currency it was billed in); `undefined` when it was unpriced. */
  readonly cost: Money | undefined;
}

/** One request's use of the cache: its key, what it looks up, and how its answer is kept. */
export interface CacheTicket<T> {
  /** The request's cache key (SHA-256, hex). */
  readonly key: string;
  /** How long an answer stored by this request is kept. */
  readonly ttlMs: number;
  /** The cached answer, or `undefined` (a miss: absent, expired, unreadable, or the store unreachable). */
  lookup(): Promise<CachedAnswer<T> | undefined>;
  /** Keeps the answer of a completed request (not awaited; a failure to store is logged, never surfaced). */
  save(response: unknown, outcome: RequestOutcome): void;
}

/** What {@link ResponseCache.begin} needs to know about a request. */
export interface CacheRequest<T> {
  readonly endpoint: CacheEndpoint;
  /** The model as the client named it. */
  readonly model: string;
  /** The virtual key; `undefined` for the master key and open mode (one scope between them). */
  readonly keyId: string | undefined;
  /** The request, as the key is computed from it (see cache-key.ts). */
  readonly request: object;
  /** The answer is drawn at random (see `isSampled`). */
  readonly sampled: boolean;
  /** Reads a stored response back; `undefined` for one that does not parse (then a miss). */
  readonly parse: (value: unknown) => T | undefined;
}

/** How the cache serves requests. */
export interface ResponseCache {
  /**
   * `undefined` when the cache is not in use for this request (nothing hashed); `'skip'` when it would be but the
   * request is sampled and `cacheSampled` is off; else the request's ticket. Throws a 400 for an invalid
   * `x-gw-cache` or `x-gw-cache-ttl`.
   */
  begin<T>(c: Context, request: CacheRequest<T>): CacheTicket<T> | 'skip' | undefined;
}

/** Options of {@link createResponseCache}. */
export interface ResponseCacheOptions {
  /** The store; built on first use when a function (a gateway with the cache off never builds one). */
  store: () => CacheStore;
  /** The running configuration (`cache` and `models[].cache` follow reloads). */
  config: () => GatewayConfig;
  logger: Logger;
  /** Told each lookup: the model as named, and whether it was a hit. */
  onLookup?: ((model: string, hit: boolean) => void) | undefined;
}

const MAX_TTL_SECONDS = 31_536_000;

const moneySchema = z.object({
  amount: z
    .string()
    .regex(/^\d{1,19}$/)
    .transform((text) => BigInt(text)),
  currency: z.string().regex(/^[A-Z]{3}$/),
});

const entrySchema = z.object({
  v: z.literal(1),
  providerId: z.string(),
  kind: z.enum(PROVIDER_KINDS).nullable(),
  upstreamModel: z.string(),
  cost: moneySchema.nullable(),
  response: z.unknown(),
});

interface AliasCache {
  readonly enabled: boolean | undefined;
  readonly ttlSeconds: number | undefined;
}

interface CachePolicy {
  readonly section: GatewayConfig['cache'];
  readonly aliases: ReadonlyMap<string, AliasCache>;
  /** Some alias (or the default) has the cache on: without the header, only then is a request looked at. */
  readonly anyEnabled: boolean;
}

function policyOf(config: GatewayConfig): CachePolicy {
  const aliases = new Map<string, AliasCache>();
  let anyEnabled = config.cache.enabled;
  for (const model of config.models) {
    if (model.cache === undefined) continue;
    aliases.set(model.name, { enabled: model.cache.enabled, ttlSeconds: model.cache.ttlSeconds });
    if (model.cache.enabled === true) anyEnabled = true;
  }
  return { section: config.cache, aliases, anyEnabled };
}

function badHeader(message: string, header: string): GatewayError {
  return new GatewayError(message, {
    status: 400,
    type: 'invalid_request_error',
    code: 'invalid_header',
    param: header,
  });
}

/** `on` / `off` / `undefined` from `x-gw-cache`. */
function cacheHeader(c: Context): 'on' | 'off' | undefined {
  const value = c.req.header('x-gw-cache');
  if (value === undefined) return undefined;
  const normal = value.trim().toLowerCase();
  if (normal === 'on' || normal === 'off') return normal;
  throw badHeader('x-gw-cache must be "on" or "off".', 'x-gw-cache');
}

function ttlHeader(c: Context): number | undefined {
  const value = c.req.header('x-gw-cache-ttl');
  if (value === undefined) return undefined;
  const seconds = /^\s*\d{1,9}\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!(seconds >= 1 && seconds <= MAX_TTL_SECONDS)) {
    throw badHeader(`x-gw-cache-ttl must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS}.`, 'x-gw-cache-ttl');
  }
  return seconds;
}

/**
 * The exact-match response cache: decides per request whether the cache applies (`x-gw-cache`, `models[].cache`,
 * `cache.enabled`, sampling), keys it (cache-key.ts), looks answers up and keeps them. Entries are JSON
 * (`{ v: 1, providerId, kind, upstreamModel, cost, response }`); one that does not read back is a miss.
 *
 * @example
 * const cache = createResponseCache({ store: () => createMemoryCacheStore({ maxBytes }), config: () => running, logger });
 * const ticket = cache.begin(c, { endpoint: 'chat', model, keyId, request, sampled: isSampled(request), parse });
 */
export function createResponseCache(options: ResponseCacheOptions): ResponseCache {
  const { logger, onLookup } = options;
  const policies = new WeakMap<GatewayConfig, CachePolicy>();
  let store: CacheStore | undefined;
  const storeOf = (): CacheStore => (store ??= options.store());
  const policy = (): CachePolicy => {
    const config = options.config();
    let found = policies.get(config);
    if (found === undefined) {
      found = policyOf(config);
      policies.set(config, found);
    }
    return found;
  };

  return {
    begin(c, request) {
      const header = cacheHeader(c);
      // Checked whether or not the cache applies: a bad value is never silently ignored.
      const ttlOverride = ttlHeader(c);
      if (header === 'off') return undefined;
      const current = policy();
      if (header === undefined && !current.anyEnabled) return undefined;
      const alias = current.aliases.get(request.model);
      const enabled = header === 'on' || (alias?.enabled ?? current.section.enabled);
      if (!enabled) return undefined;
      if (request.sampled && !current.section.cacheSampled) return 'skip';
      const ttlSeconds = ttlOverride ?? alias?.ttlSeconds ?? current.section.ttlSeconds;
      const scope = current.section.scope === 'global' ? 'global' : `key:${request.keyId ?? ''}`;
      const key = cacheKey({ endpoint: request.endpoint, model: request.model, scope, request: request.request });
      const ttlMs = ttlSeconds * 1000;
      return {
        key,
        ttlMs,
        async lookup() {
          const text = await storeOf().get(key);
          const answer = text === undefined ? undefined : readEntry(text, request.parse);
          onLookup?.(request.model, answer !== undefined);
          return answer;
        },
        save(response, outcome) {
          if (outcome.status !== 'completed') return;
          const cost = outcome.cost?.total;
          const entry = JSON.stringify({
            v: 1,
            providerId: outcome.providerId,
            kind: outcome.kind ?? null,
            upstreamModel: outcome.upstreamModel,
            cost: cost === undefined ? null : { amount: cost.amount.toString(), currency: cost.currency },
            response,
          });
          storeOf()
            .set(key, entry, ttlMs)
            .catch((error: unknown) => logger.warn('a response could not be cached', { error }));
        },
      };
    },
  };
}

function readEntry<T>(text: string, parse: (value: unknown) => T | undefined): CachedAnswer<T> | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const entry = entrySchema.safeParse(json);
  if (!entry.success) return undefined;
  const response = parse(entry.data.response);
  if (response === undefined) return undefined;
  return {
    response,
    providerId: entry.data.providerId,
    kind: entry.data.kind ?? undefined,
    upstreamModel: entry.data.upstreamModel,
    cost: entry.data.cost ?? undefined,
  };
}
