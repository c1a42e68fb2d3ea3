import type { Usage } from '@gw/providers';
import type { Logger } from '../observability/logger.ts';

/** How a request that reached an upstream ended. */
export type OutcomeStatus = 'completed' | 'failed' | 'cancelled';

/** Everything known about a finished upstream call, handed to {@link SettleHook}. */
export interface RequestOutcome {
  status: OutcomeStatus;
  requestId: string;
  /** The model the client asked for (alias or `provider-id/model`). */
  model: string;
  providerId: string;
  /** The model name sent upstream. */
  upstreamModel: string;
  stream: boolean;
  /** The failure, for `failed` (and for `cancelled` when one was raised). */
  error?: unknown;
}

/**
 * Called exactly once per request that was sent upstream, also when it failed or the client went
 * away mid-stream: `usage` is the last usage seen (undefined when the upstream reported none).
 * This is where billing, ledgers and budgets settle; errors it throws are logged, never surfaced.
 */
export type SettleHook = (usage: Usage | undefined, outcome: RequestOutcome) => void | Promise<void>;

/** Settles one request; calls after the first are ignored. */
export type Settle = (usage: Usage | undefined, status: OutcomeStatus, error?: unknown) => void;

/**
 * Binds the hook to one request and guarantees the exactly-once call, whichever of completion,
 * failure or disconnect gets there first. `base` is read when settling, so fields filled in while the request
 * runs (the deployment that served it) are the ones reported.
 *
 * @example
 * const settle = settleOnce(hook, logger, { requestId, model, providerId, upstreamModel, stream: false });
 * settle(response.usage ?? undefined, 'completed');
 */
export function settleOnce(
  hook: SettleHook | undefined,
  logger: Logger,
  base: Omit<RequestOutcome, 'status' | 'error'>,
): Settle {
  let settled = false;
  return (usage, status, error) => {
    if (settled || hook === undefined) return;
    settled = true;
    const outcome: RequestOutcome = error === undefined ? { ...base, status } : { ...base, status, error };
    try {
      const result = hook(usage, outcome);
      if (result !== undefined)
        result.catch((failure: unknown) =>
          logger.error('settle hook failed', { requestId: base.requestId, error: failure }),
        );
    } catch (failure) {
      logger.error('settle hook failed', { requestId: base.requestId, error: failure });
    }
  };
}
