import { isProviderError, type AttemptWrapper, type RouterDeployment } from '@gw/providers';
import {
  createCircuitBreaker,
  createRetryPolicy,
  isBrokenCircuitError,
  isRetryable,
  isTimeoutError,
  type CircuitBreaker,
  type CircuitBreakerState,
  type CircuitBreakerStats,
  type CircuitStateChange,
  type GiveUpReason,
  type RetryPolicy,
  type RetryStats,
} from '@gw/retry';
import type { GatewayConfig } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';

/**
 * Whether `error` is an upstream's failure worth another attempt and counted against the deployment: a retryable
 * `ProviderError` (what the adapters throw for everything the upstream did) or the attempt's own timeout. Anything
 * else is local (a request that cannot be sent, a bug): it is the caller's, never the deployment's, so it is neither
 * retried nor counted by the breaker.
 */
function isUpstreamFailure(error: unknown): boolean {
  return (isProviderError(error) || isTimeoutError(error)) && isRetryable(error);
}

/** One deployment's breaker state, for health views. */
export interface BreakerSnapshot {
  readonly deployment: string;
  readonly state: CircuitBreakerState;
}

/** One deployment's retry and breaker counters since its policies were built. */
export interface DeploymentPolicyStats {
  readonly deployment: string;
  readonly retry: RetryStats;
  readonly breaker: (CircuitBreakerStats & { readonly state: CircuitBreakerState }) | undefined;
}

/** The per-deployment policies of the gateway: what the router's `attempt` runs every call through. */
export interface DeploymentPolicies {
  /** Retry (with backoff, Retry-After, per-attempt timeout) around a circuit breaker, per deployment. */
  readonly attempt: AttemptWrapper;
  breakers(): BreakerSnapshot[];
  /** The counters of every deployment that has policies now. */
  stats(): DeploymentPolicyStats[];
  /** Drops a deployment's policies (a directly addressed model no longer kept); the next call builds them anew. */
  readonly forget: (deploymentId: string) => void;
  /**
   * Takes a new configuration (a reload): a deployment in `keep` whose retry, timeout and breaker settings are
   * unchanged keeps its policies (an open breaker stays open); the others are built anew on their next call.
   */
  configure(config: GatewayConfig, keep: ReadonlySet<string>): void;
}

/** Options of {@link createDeploymentPolicies}; for tests. */
export interface DeploymentPoliciesOptions {
  /** For the backoff's full jitter; default `Math.random`. */
  random?: (() => number) | undefined;
  /** Told each time a deployment's call is tried again, with the failure's kind: for metrics and statistics. */
  onRetry?: ((deployment: RouterDeployment, kind: string) => void) | undefined;
  /** Told when the retries of a deployment's call stop short of success (the last failure's kind). */
  onGiveUp?: ((deployment: RouterDeployment, reason: GiveUpReason, kind: string) => void) | undefined;
  /** Told on every change of a deployment's breaker. */
  onBreakerChange?: ((deploymentId: string, change: CircuitStateChange) => void) | undefined;
}

interface Policies {
  retry: RetryPolicy;
  breaker: CircuitBreaker | undefined;
  /** What they were built from (settingsOf): a reload keeps them while it is the same. */
  settings: string;
  deployment: RouterDeployment;
}

/**
 * Builds, lazily and once per deployment, a retry policy from the global `retry:` section merged with the provider's
 * own `retry:` (and `timeouts.attemptMs`: the model alias's, else the provider's, else the global one), and a circuit breaker from `breaker:`. A breaker counts only failures that
 * blame the deployment (retryable kinds), so a client's 400 never opens it; while it is open the deployment is
 * skipped at once (the router moves on to the next deployment or fallback). Retries, give-ups and breaker changes
 * are logged.
 *
 * @example
 * const policies = createDeploymentPolicies(config, logger);
 * const routing = createGatewayRouting(config, resolver, logger, { attempt: policies.attempt });
 */
export function createDeploymentPolicies(
  initial: GatewayConfig,
  logger: Logger,
  options: DeploymentPoliciesOptions = {},
): DeploymentPolicies {
  let config = initial;
  let settingsById = new Map(config.providers.map((provider) => [provider.id, provider]));
  let modelsByName = new Map(config.models.map((model) => [model.name, model]));
  const byDeployment = new Map<string, Policies>();

  // Everything a deployment's policies are built from, as one text.
  function settingsOf(deployment: RouterDeployment) {
    const provider = settingsById.get(deployment.providerId);
    const retry = { ...config.retry, ...provider?.retry };
    // The most specific wins: the model alias's, the provider's, the global one.
    const attemptTimeoutMs =
      modelsByName.get(deployment.alias)?.timeouts?.attemptMs ??
      provider?.timeouts?.attemptMs ??
      config.timeouts.attemptMs;
    return { retry, attemptTimeoutMs, text: JSON.stringify([retry, attemptTimeoutMs, config.breaker]) };
  }

  function policiesFor(deployment: RouterDeployment): Policies {
    const known = byDeployment.get(deployment.id);
    if (known !== undefined) return known;
    const { retry: retrySettings, attemptTimeoutMs, text } = settingsOf(deployment);
    const retry = createRetryPolicy({
      maxRetries: retrySettings.maxRetries,
      baseDelayMs: retrySettings.baseDelayMs,
      maxDelayMs: retrySettings.maxDelayMs,
      deadlineMs: retrySettings.deadlineMs,
      attemptTimeoutMs,
      // An open breaker is not waited out: the router moves on to another deployment or a fallback at once.
      shouldRetry: (error) => !isBrokenCircuitError(error) && isUpstreamFailure(error),
      random: options.random,
      onRetry: (event) => {
        options.onRetry?.(deployment, event.kind);
        logger.info(`retrying deployment "${deployment.id}"`, {
          deployment: deployment.id,
          attempt: event.attempt,
          delayMs: Math.round(event.delayMs),
          kind: event.kind,
        });
      },
      onGiveUp: (event) => {
        if (event.reason === 'not_retryable' || event.reason === 'cancelled') return;
        options.onGiveUp?.(deployment, event.reason, event.kind);
        logger.info(`giving up on deployment "${deployment.id}" (${event.reason})`, {
          deployment: deployment.id,
          attempt: event.attempt,
          kind: event.kind,
        });
      },
    });
    const settings = config.breaker;
    let breaker: CircuitBreaker | undefined;
    if (settings.enabled) {
      breaker =
        settings.mode === 'consecutive'
          ? createCircuitBreaker({
              mode: 'consecutive',
              shouldCount: isUpstreamFailure,
              threshold: Math.max(1, Math.round(settings.threshold)),
              halfOpenAfterMs: settings.halfOpenAfterMs,
            })
          : createCircuitBreaker({
              mode: 'rate',
              shouldCount: isUpstreamFailure,
              threshold: Math.min(1, settings.threshold),
              windowMs: settings.windowMs,
              minimumCalls: settings.minimumCalls,
              halfOpenAfterMs: settings.halfOpenAfterMs,
            });
      breaker.onStateChange((change) => {
        options.onBreakerChange?.(deployment.id, change);
        logger.warn(`circuit breaker of deployment "${deployment.id}" is ${change.state}`, {
          deployment: deployment.id,
          state: change.state,
          previous: change.previousState,
        });
      });
    }
    const policies = { retry, breaker, settings: text, deployment };
    byDeployment.set(deployment.id, policies);
    return policies;
  }

  const attempt: AttemptWrapper = (deployment, call, signal) => {
    const { retry, breaker } = policiesFor(deployment);
    return retry.execute(
      ({ signal: attemptSignal }) =>
        breaker === undefined
          ? call(attemptSignal)
          : breaker.execute(({ signal: inner }) => call(inner), { signal: attemptSignal }),
      { signal },
    );
  };

  return {
    attempt,
    forget: (deploymentId) => void byDeployment.delete(deploymentId),
    breakers: () =>
      [...byDeployment.entries()].flatMap(([deployment, { breaker }]) =>
        breaker === undefined ? [] : [{ deployment, state: breaker.state }],
      ),
    stats: () =>
      [...byDeployment.entries()].map(([deployment, { retry, breaker }]) => ({
        deployment,
        retry: retry.stats(),
        breaker: breaker === undefined ? undefined : { ...breaker.stats(), state: breaker.state },
      })),
    configure(next, keep) {
      config = next;
      settingsById = new Map(config.providers.map((provider) => [provider.id, provider]));
      modelsByName = new Map(config.models.map((model) => [model.name, model]));
      for (const [id, policies] of [...byDeployment]) {
        if (!keep.has(id) || settingsOf(policies.deployment).text !== policies.settings) byDeployment.delete(id);
      }
    },
  };
}
