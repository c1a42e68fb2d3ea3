import { formatMoney } from '@gw/cost';
import { describeError } from '../../error-handler.ts';
import type { Logger } from '../../observability/logger.ts';
import { redactPii } from '../../observability/redact-pii.ts';
import type { RequestOutcome, SettleHook } from '../settle-once.ts';

/** The HTTP status the client got (or would have: 499 for a client that left). */
function httpStatusOf(outcome: RequestOutcome): number {
  if (outcome.status === 'completed') return 200;
  if (outcome.status === 'cancelled') return 499;
  return describeError(outcome.error).status;
}

const round = (ms: number): number => Math.round(ms * 100) / 100;

/**
 * One `info` access line per routed request, when it settles: request id, key id, alias, provider, upstream model,
 * outcome and HTTP status, attempts, fallback, tokens, cost (exact decimal text in the reporting currency, or
 * `unpriced`), latency and time to first token; for a response cache hit, `cache: "hit"` and `costSaved`. With `bodies`, the prompt and the answer too, with e-mail addresses,
 * phone and card numbers redacted.
 *
 * @example
 * const settle = combineSettleHooks([accessLogSubscriber(logger, { bodies: config.logging.bodies })]);
 */
export function accessLogSubscriber(logger: Logger, options: { bodies: boolean }): SettleHook {
  return (outcome) => {
    const cost =
      outcome.cost === undefined ? (outcome.unpriced ? 'unpriced' : undefined) : formatMoney(outcome.cost.total);
    logger.info('request', {
      requestId: outcome.requestId,
      clientRequestId: outcome.clientRequestId,
      keyId: outcome.keyId,
      endpoint: outcome.endpoint,
      alias: outcome.model,
      provider: outcome.providerId,
      upstreamModel: outcome.upstreamModel,
      stream: outcome.stream,
      outcome: outcome.status,
      status: httpStatusOf(outcome),
      attempts: outcome.attempts,
      fallback: outcome.fallback,
      inputTokens: outcome.usage?.prompt_tokens,
      outputTokens: outcome.usage?.completion_tokens,
      estimated: outcome.estimated || undefined,
      cost,
      currency: outcome.cost?.currency,
      latencyMs: round(outcome.latencyMs),
      ttftMs: outcome.ttftMs === undefined ? undefined : round(outcome.ttftMs),
      ...(outcome.cacheHit === true
        ? { cache: 'hit', costSaved: outcome.costSaved === undefined ? undefined : formatMoney(outcome.costSaved) }
        : {}),
      ...(options.bodies && outcome.bodies !== undefined
        ? {
            prompt: redactPii(JSON.stringify(outcome.bodies.request)),
            answer: redactPii(outcome.bodies.answer),
          }
        : {}),
    });
  };
}
