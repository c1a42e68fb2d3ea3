import {
  createConcurrencyLimiter,
  type ConcurrencyLimiter,
  type LimiterEvent,
  type LimiterRegistry,
  type LimiterSnapshot,
} from '@gw/ratelimit';
import type { ProviderSettings } from '../config/schema.ts';

/**
 * The providers' concurrency queues: a {@link LimiterRegistry} whose settings follow the running configuration (a
 * reload, a provider added through the admin API) and the admin API's overrides, without dropping a queued call.
 */
export interface ProviderQueues extends LimiterRegistry {
  /** True when calls to the provider wait in a queue: it has `maxConcurrency`, or an override. */
  limits(providerId: string): boolean;
  /**
   * Sets the provider's concurrency over its configured `maxConcurrency` (a provider without one gets a queue), or
   * with `null` goes back to the configured value (none: no queue). Queued calls stay queued: a higher cap starts
   * them now, a lower one lets running calls finish and starts no new one until they are below it.
   */
  override(providerId: string, maxConcurrency: number | null): void;
  /** The overrides in force, by provider id. */
  overrides(): ReadonlyMap<string, number>;
  /**
   * Takes new provider settings. A queue whose settings did not change is kept as it is (running and queued calls,
   * counters); a changed `maxConcurrency` is applied live; a changed `maxQueue` / `maxQueueMs` gives new calls a new
   * queue while the old one runs what it holds at its cap (for that while, both run calls). A provider left without
   * a cap runs what its queue holds at once. Overrides of providers that are gone are dropped.
   */
  configure(providers: readonly ProviderSettings[]): void;
}

/** Options of {@link createProviderQueues}. */
export interface ProviderQueuesOptions {
  /** Every queue event, with the provider it belongs to: for metrics. */
  onEvent?: ((providerId: string, event: LimiterEvent) => void) | undefined;
}

type QueueSettings = Pick<ProviderSettings, 'maxConcurrency' | 'maxQueue' | 'maxQueueMs'>;

// A queue whose provider lost its cap must still run what waits in it, at once.
const UNCAPPED = Number.MAX_SAFE_INTEGER;

/**
 * Creates the providers' queues from their settings (`maxConcurrency`, `maxQueue`, `maxQueueMs`).
 *
 * @example
 * const queues = createProviderQueues(config.providers);
 * queues.override('glm', 1); // strictly one call at a time, until override('glm', null)
 */
export function createProviderQueues(
  providers: readonly ProviderSettings[],
  options: ProviderQueuesOptions = {},
): ProviderQueues {
  let settings = new Map<string, QueueSettings>(providers.map((provider) => [provider.id, provider]));
  const overrides = new Map<string, number>();
  const limiters = new Map<string, ConcurrencyLimiter>();
  let stopped = false;

  const capOf = (providerId: string): number | undefined =>
    overrides.get(providerId) ?? settings.get(providerId)?.maxConcurrency;

  const get = (providerId: string): ConcurrencyLimiter => {
    const existing = limiters.get(providerId);
    if (existing !== undefined) return existing;
    const cap = capOf(providerId);
    if (cap === undefined) throw new Error(`no concurrency limiter is configured for ${providerId}`);
    const own = settings.get(providerId);
    const onEvent = options.onEvent;
    const limiter = createConcurrencyLimiter({
      name: providerId,
      maxConcurrency: cap,
      ...(own?.maxQueue === undefined ? {} : { maxQueue: own.maxQueue }),
      ...(own?.maxQueueMs === undefined ? {} : { maxQueueMs: own.maxQueueMs }),
      ...(onEvent === undefined ? {} : { onEvent: (event: LimiterEvent) => onEvent(providerId, event) }),
    });
    if (stopped) limiter.stop();
    limiters.set(providerId, limiter);
    return limiter;
  };

  const apply = (providerId: string): void => {
    const limiter = limiters.get(providerId);
    if (limiter === undefined) return;
    const cap = capOf(providerId);
    if (cap !== undefined) {
      limiter.setMaxConcurrency(cap);
      return;
    }
    limiters.delete(providerId);
    limiter.setMaxConcurrency(UNCAPPED);
  };

  return {
    get,
    has: (providerId) => limiters.has(providerId),
    limits: (providerId) => capOf(providerId) !== undefined,
    snapshot: (): LimiterSnapshot[] =>
      [...limiters].map(([key, limiter]) => ({
        key,
        name: limiter.name,
        running: limiter.running,
        queued: limiter.queued,
        maxConcurrency: limiter.maxConcurrency,
        maxQueue: limiter.maxQueue,
      })),
    override(providerId, maxConcurrency) {
      if (maxConcurrency === null) overrides.delete(providerId);
      else overrides.set(providerId, maxConcurrency);
      apply(providerId);
    },
    overrides: () => new Map(overrides),
    configure(next) {
      const previous = settings;
      settings = new Map(next.map((provider) => [provider.id, provider]));
      for (const id of overrides.keys()) if (!settings.has(id)) overrides.delete(id);
      for (const [id, limiter] of [...limiters]) {
        const before = previous.get(id);
        const after = settings.get(id);
        const cap = capOf(id);
        if (cap !== undefined && (before?.maxQueue !== after?.maxQueue || before?.maxQueueMs !== after?.maxQueueMs)) {
          // Calls holding or waiting for the old queue's slots keep it; the next call creates the new one.
          limiters.delete(id);
          limiter.setMaxConcurrency(cap);
        } else {
          apply(id);
        }
      }
    },
    stop() {
      stopped = true;
      for (const limiter of limiters.values()) limiter.stop();
    },
  };
}
