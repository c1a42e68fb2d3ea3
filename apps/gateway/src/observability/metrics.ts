import { isProviderError } from '@gw/providers';
import type { LimiterSnapshot } from '@gw/ratelimit';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { moneyToNumber } from '@gw/cost';
import type { GatewayConfig } from '../config/schema.ts';
import { isGatewayError } from '../gateway-error.ts';
import type { BreakerSnapshot } from '../routing/deployment-policies.ts';
import type { RequestOutcome } from '../settle/settle-once.ts';

/** What the metrics read at scrape time (state that already lives elsewhere). */
export interface MetricsSources {
  /** Circuit breakers of the configured deployments. */
  breakers: () => readonly BreakerSnapshot[];
  /** Per-provider queues. */
  queues: () => readonly LimiterSnapshot[];
  /** The ledger's buffered and spilled rows, once there is a ledger. */
  ledger?: (() => { buffered: number; spilled: number }) | undefined;
}

/** The gateway's Prometheus metrics (prom-client), fed by the settle hook and the routing's events. */
export interface GatewayMetrics {
  readonly registry: Registry;
  /** A request reached routing (`llm_active_requests` up). */
  readonly requestStarted: () => void;
  /** A request settled: counts, latencies, tokens, cost, errors (`llm_active_requests` down). */
  readonly settled: (outcome: RequestOutcome) => void;
  /** A deployment's call is tried again. */
  readonly retried: (providerId: string) => void;
  /** An alias fell back to another. */
  readonly fellBack: (from: string, to: string) => void;
  /** The response cache was looked up for `model` (as the client named it): a hit or a miss. */
  readonly cacheLookedUp: (model: string, hit: boolean) => void;
  /** A request was refused by a rate limit of `scope` (global, ip, key, key_model, deployment). */
  readonly rateLimited: (scope: string) => void;
  /** Redis behind rate limits or budgets became unreachable. */
  readonly storeOutage: (store: 'rate_limits' | 'budgets') => void;
  /** A call waited this long for a provider's queue. */
  readonly queueWaited: (providerId: string, seconds: number) => void;
  /** A configuration reload was applied (`ok`) or refused (`error`). */
  readonly reloaded: (result: 'ok' | 'error') => void;
  /** The running configuration changed: the aliases, targets and providers labels may name are its own now. */
  readonly relabel: (config: GatewayConfig) => void;
  /** The text `GET /metrics` answers. */
  readonly render: () => Promise<string>;
}

/** The names labels may carry: configured aliases, targets and providers (anything else is `other`). */
function labelSets(config: GatewayConfig): { aliases: Set<string>; targets: Set<string>; providers: Set<string> } {
  const aliases = new Set(config.models.map((model) => model.name));
  const targets = new Set(
    config.models.flatMap((model) => model.targets.map((target) => `${target.provider}/${target.model}`)),
  );
  for (const provider of config.providers) {
    for (const model of provider.models ?? []) targets.add(`${provider.id}/${model}`);
  }
  const providers = new Set(config.providers.map((provider) => provider.id));
  return { aliases, targets, providers };
}

// Token classes of llm_tokens_total{type}.
type TokenType = 'input' | 'cached_input' | 'cache_write' | 'output' | 'reasoning';
// Labels clients could otherwise choose: a model that is no configured alias or target is counted as this.
const OTHER = 'other';
const NONE = 'none';

// Buckets that fit LLM calls: tens of milliseconds to minutes.
const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300];
const TTFT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32];
const QUEUE_BUCKETS = [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30];

const BREAKER_STATE = { closed: 0, 'half-open': 1, halfOpen: 1, open: 2, isolated: 2 } as const;

function breakerValue(state: string): number {
  return state in BREAKER_STATE ? BREAKER_STATE[state as keyof typeof BREAKER_STATE] : 2;
}

/**
 * The error kind of a failed request, for `llm_errors_total{kind}`: a ProviderError kind or a gateway code.
 *
 * @example
 * errorKind(outcome.error); // 'rate_limit'
 */
export function errorKind(error: unknown): string {
  if (isProviderError(error)) return error.kind;
  if (isGatewayError(error)) return error.code ?? 'gateway';
  return 'internal';
}

/**
 * Counts by label set on the request path with a Map lookup and an addition, and hands the totals to a prom-client
 * counter when it is scraped. prom-client's own `inc(labels)` validates and hashes the labels on every call; eight of
 * those per request were several percent of a JSON request's CPU.
 */
class Tally<Name extends string> {
  private readonly totals = new Map<string, { labels: Partial<Record<Name, string>>; value: number }>();

  add(key: string, labels: () => Partial<Record<Name, string>>, value = 1): void {
    const entry = this.totals.get(key);
    if (entry === undefined) this.totals.set(key, { labels: labels(), value });
    else entry.value += value;
  }

  /** Writes the totals into `counter` (cumulative: it is reset first). */
  publish(counter: Counter<Name>): void {
    counter.reset();
    for (const { labels, value } of this.totals.values()) counter.inc(labels, value);
  }
}

/**
 * Creates the gateway's metrics in a registry of their own, with the names operators alert on
 * (`llm_requests_total`, `llm_request_duration_seconds`, `llm_time_to_first_token_seconds`, `llm_active_requests`,
 * `llm_tokens_total`, `llm_cost_total`, `llm_errors_total`, `llm_retries_total`, `llm_fallbacks_total`,
 * `llm_rate_limit_hits_total`, `llm_cache_hits_total`, `llm_cache_misses_total`, `llm_limit_store_outages_total`, `llm_circuit_breaker_state`, `llm_queue_length`, `llm_queue_max_concurrency`, `llm_queue_wait_seconds`, the
 * ledger's buffer and spill, and Node's process metrics). Labels stay bounded: a model is labelled only when it is a
 * configured alias or target, anything else is `other`; key ids only with `metrics.perKey`.
 *
 * @example
 * const metrics = createGatewayMetrics(config, { breakers: policies.breakers, queues: () => limiters.snapshot() });
 * app.get('/metrics', async (c) => c.text(await metrics.render()));
 */
export function createGatewayMetrics(config: GatewayConfig, sources: MetricsSources): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const perKey = config.metrics.perKey;
  const keyLabels = perKey ? ['key'] : [];

  let { aliases, targets, providers } = labelSets(config);
  const modelLabel = (outcome: RequestOutcome): string => {
    if (aliases.has(outcome.model)) return outcome.model;
    if (targets.has(outcome.model)) return outcome.model;
    return OTHER;
  };
  const providerLabel = (id: string): string => (id === '' ? NONE : providers.has(id) ? id : OTHER);

  const requestTally = new Tally<string>();
  const tokenTally = new Tally<string>();
  const costTally = new Tally<string>();
  const errorTally = new Tally<string>();
  let activeRequests = 0;
  new Counter({
    name: 'llm_requests_total',
    help: 'Requests that reached routing, by the provider that served (or failed last), model and outcome.',
    labelNames: ['provider', 'model', 'status', ...keyLabels],
    registers: [registry],
    collect() {
      requestTally.publish(this);
    },
  });
  const duration = new Histogram({
    name: 'llm_request_duration_seconds',
    help: 'Time from the request to its end (the last byte of a stream).',
    labelNames: ['provider', 'model'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const ttft = new Histogram({
    name: 'llm_time_to_first_token_seconds',
    help: 'Time from a streamed request to its first chunk.',
    labelNames: ['provider', 'model'],
    buckets: TTFT_BUCKETS,
    registers: [registry],
  });
  new Gauge({
    name: 'llm_active_requests',
    help: 'Requests between routing and their settle.',
    registers: [registry],
    collect() {
      this.set(activeRequests);
    },
  });
  new Counter({
    name: 'llm_tokens_total',
    help: 'Tokens billed, by class (input, cached_input, cache_write, output, reasoning).',
    labelNames: ['provider', 'model', 'type', ...keyLabels],
    registers: [registry],
    collect() {
      tokenTally.publish(this);
    },
  });
  new Counter({
    name: 'llm_cost_total',
    help: 'What requests cost, in the reporting currency.',
    labelNames: ['provider', 'model', 'currency', ...keyLabels],
    registers: [registry],
    collect() {
      costTally.publish(this);
    },
  });
  const unpriced = new Counter({
    name: 'llm_unpriced_requests_total',
    help: 'Requests whose model has no price (flagged in the ledger, not counted as free).',
    labelNames: ['provider', 'model'],
    registers: [registry],
  });
  new Counter({
    name: 'llm_errors_total',
    help: 'Failed requests by provider and error kind.',
    labelNames: ['provider', 'kind'],
    registers: [registry],
    collect() {
      errorTally.publish(this);
    },
  });
  const retries = new Counter({
    name: 'llm_retries_total',
    help: 'Calls tried again on the same deployment.',
    labelNames: ['provider'],
    registers: [registry],
  });
  const fallbacks = new Counter({
    name: 'llm_fallbacks_total',
    help: 'Aliases that fell back to another.',
    labelNames: ['from', 'to'],
    registers: [registry],
  });
  const storeOutages = new Counter({
    name: 'llm_limit_store_outages_total',
    help: 'Times the Redis behind rate limits or budgets became unreachable (the fail mode applied until it was back).',
    labelNames: ['store'],
    registers: [registry],
  });
  const rateLimitHits = new Counter({
    name: 'llm_rate_limit_hits_total',
    help: 'Requests refused by a rate limit, by its scope.',
    labelNames: ['scope'],
    registers: [registry],
  });
  new Gauge({
    name: 'llm_circuit_breaker_state',
    help: 'Circuit breaker of each configured deployment: 0 closed, 1 half-open, 2 open.',
    labelNames: ['deployment'],
    registers: [registry],
    collect() {
      this.reset();
      for (const breaker of sources.breakers()) {
        if (targets.has(breaker.deployment)) this.set({ deployment: breaker.deployment }, breakerValue(breaker.state));
      }
    },
  });
  new Gauge({
    name: 'llm_queue_length',
    help: 'Calls waiting in each provider queue (providers with maxConcurrency).',
    labelNames: ['deployment'],
    registers: [registry],
    collect() {
      this.reset();
      for (const queue of sources.queues()) this.set({ deployment: queue.key }, queue.queued);
    },
  });
  new Gauge({
    name: 'llm_queue_max_concurrency',
    help: 'Calls each provider queue lets run at once (maxConcurrency, or its adaptive cap as it stands).',
    labelNames: ['deployment'],
    registers: [registry],
    collect() {
      this.reset();
      for (const queue of sources.queues()) this.set({ deployment: queue.key }, queue.maxConcurrency);
    },
  });
  const queueWait = new Histogram({
    name: 'llm_queue_wait_seconds',
    help: 'How long calls waited in a provider queue before they started.',
    labelNames: ['deployment'],
    buckets: QUEUE_BUCKETS,
    registers: [registry],
  });
  const cacheHits = new Counter({
    name: 'llm_cache_hits_total',
    help: 'Requests the response cache answered, by model (as the client named it).',
    labelNames: ['model'],
    registers: [registry],
  });
  const cacheMisses = new Counter({
    name: 'llm_cache_misses_total',
    help: 'Requests the response cache was asked for and did not hold, by model (as the client named it).',
    labelNames: ['model'],
    registers: [registry],
  });
  const reloads = new Counter({
    name: 'llm_config_reloads_total',
    help: 'Configuration reloads (file change, SIGHUP, a provider changed through the admin API), by result.',
    labelNames: ['result'],
    registers: [registry],
  });
  new Gauge({
    name: 'llm_ledger_buffered_rows',
    help: 'Ledger rows waiting to be written.',
    registers: [registry],
    collect() {
      this.set(sources.ledger?.().buffered ?? 0);
    },
  });
  new Gauge({
    name: 'llm_ledger_spilled_rows',
    help: 'Ledger rows in the spill file, waiting for the database.',
    registers: [registry],
    collect() {
      this.set(sources.ledger?.().spilled ?? 0);
    },
  });

  return {
    registry,
    requestStarted: () => {
      activeRequests += 1;
    },
    settled: (outcome) => {
      activeRequests -= 1;
      const provider = providerLabel(outcome.providerId);
      const model = modelLabel(outcome);
      const key = perKey ? (outcome.keyId ?? NONE) : undefined;
      // One string per label set; the label objects are built only the first time a set is seen.
      const base = key === undefined ? `${provider}\u0001${model}` : `${provider}\u0001${model}\u0001${key}`;
      const keyLabel = key === undefined ? {} : { key };
      requestTally.add(`${base}\u0001${outcome.status}`, () => ({
        provider,
        model,
        status: outcome.status,
        ...keyLabel,
      }));
      duration.observe({ provider, model }, outcome.latencyMs / 1000);
      if (outcome.ttftMs !== undefined) ttft.observe({ provider, model }, outcome.ttftMs / 1000);
      if (outcome.status === 'failed') {
        const kind = errorKind(outcome.error);
        errorTally.add(`${provider}\u0001${kind}`, () => ({ provider, kind }));
      }
      const countTokens = (type: TokenType, value: number): void => {
        if (value > 0) tokenTally.add(`${base}\u0001${type}`, () => ({ provider, model, type, ...keyLabel }), value);
      };
      if (outcome.cost !== undefined) {
        const { tokens: counted, currency } = outcome.cost;
        countTokens('input', counted.input);
        countTokens('cached_input', counted.cachedInput);
        countTokens('cache_write', counted.cacheWrite5m + counted.cacheWrite1h);
        countTokens('output', counted.output);
        countTokens('reasoning', counted.reasoning);
        costTally.add(
          `${base}\u0001${currency}`,
          () => ({ provider, model, currency, ...keyLabel }),
          moneyToNumber(outcome.cost.total),
        );
      } else if (outcome.usage !== undefined) {
        countTokens('input', outcome.usage.prompt_tokens);
        countTokens('output', outcome.usage.completion_tokens);
      }
      if (outcome.unpriced) unpriced.inc({ provider, model });
    },
    retried: (providerId) => retries.inc({ provider: providerLabel(providerId) }),
    fellBack: (from, to) => fallbacks.inc({ from: aliases.has(from) ? from : OTHER, to: aliases.has(to) ? to : OTHER }),
    cacheLookedUp: (name, hit) => {
      const model = aliases.has(name) || targets.has(name) ? name : OTHER;
      (hit ? cacheHits : cacheMisses).inc({ model });
    },
    rateLimited: (scope) => rateLimitHits.inc({ scope }),
    storeOutage: (store) => storeOutages.inc({ store }),
    queueWaited: (providerId, seconds) => queueWait.observe({ deployment: providerLabel(providerId) }, seconds),
    reloaded: (result) => reloads.inc({ result }),
    relabel: (next) => {
      ({ aliases, targets, providers } = labelSets(next));
    },
    render: () => registry.metrics(),
  };
}
