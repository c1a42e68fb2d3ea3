import type { AcquireSlot, RouterDeployment } from '@gw/providers';
import { composeScope, isRateLimitedError, type RateLimit, type RateLimiter, type RateLimitLease } from '@gw/ratelimit';
import type { GatewayConfig } from '../config/schema.ts';
import { GatewayError } from '../gateway-error.ts';

/**
 * What one request hands the router for per-deployment limits (`RouterCallOptions.slot`): its token estimate, and
 * the leases taken on the deployments it tried, corrected to the real usage when it settles.
 */
export interface DeploymentSlot {
  readonly tokens: number;
  readonly leases: RateLimitLease[];
}

/**
 * A deployment's own rate limit refused the call: the router moves on to the next deployment or fallback (it is
 * `retryable`, and has no provider kind, so it neither cools the deployment down nor counts against its breaker).
 * When it is the last error, the client gets it: 429 with `retry-after`.
 */
export class DeploymentLimitedError extends GatewayError {
  readonly retryable = true;
}

type DeploymentLimitSettings = GatewayConfig['limits']['deployments'][number];

function limitsOf(entry: DeploymentLimitSettings): RateLimit[] {
  const scope =
    entry.model === undefined
      ? composeScope('deployment', entry.provider)
      : composeScope('deployment', entry.provider, 'model', entry.model);
  const limits: RateLimit[] = [];
  if (entry.rpm !== undefined) limits.push({ scope, unit: 'requests', limit: entry.rpm });
  if (entry.tpm !== undefined) limits.push({ scope, unit: 'tokens', limit: entry.tpm });
  return limits;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Wraps the router's `acquire` with the `limits.deployments` of the config: before a call goes to a deployment with
 * an RPM or TPM of its own (the vendor's tier), the limit is taken with the request's token estimate. A refusal
 * waits up to `maxWaitMs` when capacity returns by then, else raises a {@link DeploymentLimitedError}, which sends
 * the router to the next target. Deployments without a limit go straight to `inner`.
 *
 * @example
 * const acquire = withDeploymentLimits(config.limits.deployments, limiter, concurrencyAcquire, onRefused);
 */
export function withDeploymentLimits(
  settings: readonly DeploymentLimitSettings[],
  limiter: RateLimiter,
  inner: AcquireSlot,
  onRefused: (scope: string) => void,
): AcquireSlot {
  if (settings.length === 0) return inner;
  const byProvider = new Map<string, DeploymentLimitSettings[]>();
  for (const entry of settings) byProvider.set(entry.provider, [...(byProvider.get(entry.provider) ?? []), entry]);
  // Per deployment id: the most specific entry (its model's, else the provider's), decided once.
  const resolved = new Map<string, { limits: RateLimit[]; maxWaitMs: number } | null>();
  const entryFor = (deployment: RouterDeployment) => {
    let found = resolved.get(deployment.id);
    if (found === undefined) {
      const entries = byProvider.get(deployment.providerId) ?? [];
      const entry =
        entries.find((candidate) => candidate.model === deployment.model) ??
        entries.find((candidate) => candidate.model === undefined);
      found = entry === undefined ? null : { limits: limitsOf(entry), maxWaitMs: entry.maxWaitMs };
      resolved.set(deployment.id, found);
    }
    return found;
  };

  return async (deployment, options) => {
    const entry = entryFor(deployment);
    if (entry === null || entry.limits.length === 0) return inner(deployment, options);
    const slot = options.slot as DeploymentSlot | undefined;
    const tokens = slot?.tokens ?? 0;
    const waitUntil = performance.now() + entry.maxWaitMs;
    for (;;) {
      try {
        const lease = await limiter.take(entry.limits, { tokens, signal: options.signal });
        slot?.leases.push(lease);
        break;
      } catch (error) {
        if (!isRateLimitedError(error)) throw error;
        const retryAfterMs = error.retryAfterMs;
        if (retryAfterMs !== undefined && performance.now() + retryAfterMs <= waitUntil) {
          await sleep(Math.max(1, retryAfterMs), options.signal);
          continue;
        }
        onRefused('deployment');
        throw new DeploymentLimitedError(
          `The deployment ${deployment.id} is at its own rate limit (${error.limit} ${error.unit} per minute).`,
          {
            status: 429,
            type: 'rate_limit_error',
            code: 'rate_limit_exceeded',
            headers:
              retryAfterMs === undefined ? {} : { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
          },
        );
      }
    }
    return inner(deployment, options);
  };
}
