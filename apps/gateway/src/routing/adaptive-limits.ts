import type { AttemptWrapper } from '@gw/providers';
import {
  createAdaptiveConcurrency,
  type AdaptiveConcurrency,
  type AdaptiveConcurrencyEvent,
  type AdaptiveConcurrencySnapshot,
  type LimiterRegistry,
} from '@gw/ratelimit';
import type { GatewayConfig, ProviderSettings } from '../config/schema.ts';
import { DeploymentLimitedError } from '../limits/deployment-limits.ts';
import type { Logger } from '../observability/logger.ts';

/** The adaptive concurrency of the providers that ask for it (`providers[].adaptiveConcurrency`). */
export interface AdaptiveLimits {
  /** Wraps the per-deployment attempt so that every upstream outcome moves its provider's limit. */
  wrap(attempt: AttemptWrapper | undefined): AttemptWrapper | undefined;
  /** Each adaptive limit as it stands, for the health view. */
  snapshot(): AdaptiveConcurrencySnapshot[];
  /** True when the provider's concurrency follows its upstream (it cannot be set by hand). */
  steers(providerId: string): boolean;
  /** The provider's limit when it was built from these settings (a reload keeps it as it stands). */
  kept(providerId: string, settings: string): AdaptiveConcurrency | undefined;
}

// What an adaptive limit is built from, and what gives its provider a new queue (provider-queues.ts): the same text
// means the same limit, steering the same queue.
function settingsOf(provider: ProviderSettings): string {
  return JSON.stringify([
    provider.adaptiveConcurrency,
    provider.maxConcurrency,
    provider.maxQueue,
    provider.maxQueueMs,
  ]);
}

const callOnce: AttemptWrapper = (_deployment, call, signal) => call(signal);

/**
 * One AIMD limit per provider with `adaptiveConcurrency` (it needs `maxConcurrency`, the queue it steers): halved on
 * an upstream 429 / 503 / 529 or a timeout, one more call per round of successes, within `[min, max]`. The gateway's
 * own refusals (a deployment at its RPM/TPM limit, a full queue) say nothing about the upstream and move nothing.
 * With `previous` (a reload), a provider whose adaptive settings did not change keeps its limit as it stands.
 *
 * @example
 * const adaptive = createAdaptiveLimits(config, limiters, logger);
 * const router = createRouter({ models, attempt: adaptive.wrap(policies.attempt) });
 */
export function createAdaptiveLimits(
  config: GatewayConfig,
  limiters: LimiterRegistry,
  logger: Logger,
  onEvent?: (event: AdaptiveConcurrencyEvent) => void,
  previous?: AdaptiveLimits,
): AdaptiveLimits {
  const byProvider = new Map<string, AdaptiveConcurrency>();
  const settingsById = new Map<string, string>();
  for (const provider of config.providers) {
    const settings = provider.adaptiveConcurrency;
    if (settings === undefined || provider.maxConcurrency === undefined) continue;
    settingsById.set(provider.id, settingsOf(provider));
    const kept = previous?.kept(provider.id, settingsOf(provider));
    if (kept !== undefined) {
      byProvider.set(provider.id, kept);
      continue;
    }
    byProvider.set(
      provider.id,
      createAdaptiveConcurrency({
        limiter: limiters.get(provider.id),
        name: provider.id,
        min: settings.min,
        max: settings.max ?? provider.maxConcurrency,
        initial: provider.maxConcurrency,
        onEvent: (event) => {
          if (event.type === 'decrease') {
            logger.warn(`provider "${event.name}" concurrency lowered to ${event.to} (upstream ${event.reason})`, {
              provider: event.name,
              from: event.from,
              to: event.to,
              reason: event.reason,
            });
          } else {
            logger.info(`provider "${event.name}" concurrency raised to ${event.to}`, {
              provider: event.name,
              from: event.from,
              to: event.to,
            });
          }
          onEvent?.(event);
        },
      }),
    );
  }
  return {
    wrap(attempt) {
      if (byProvider.size === 0) return attempt;
      const inner = attempt ?? callOnce;
      return (deployment, call, signal) => {
        const adaptive = byProvider.get(deployment.providerId);
        if (adaptive === undefined) return inner(deployment, call, signal);
        return inner(
          deployment,
          async (callSignal) => {
            try {
              const value = await call(callSignal);
              adaptive.recordSuccess();
              return value;
            } catch (error) {
              if (!(error instanceof DeploymentLimitedError) && !callSignal.aborted) adaptive.recordError(error);
              throw error;
            }
          },
          signal,
        );
      };
    },
    snapshot: () => [...byProvider.values()].map((adaptive) => adaptive.snapshot()),
    steers: (providerId) => byProvider.has(providerId),
    kept: (providerId, settings) =>
      settingsById.get(providerId) === settings ? byProvider.get(providerId) : undefined,
  };
}
