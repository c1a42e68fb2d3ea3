import { isProviderError } from '@gw/providers';
import { describeError } from '../../error-handler.ts';
import { isGatewayError } from '../../gateway-error.ts';
import type { LedgerCost, LedgerRow, LedgerTokens } from '../../ledger/ledger-row.ts';
import type { LedgerWriter } from '../../ledger/ledger-writer.ts';
import type { RequestOutcome, SettleHook } from '../settle-once.ts';

/** The HTTP status the client got; 499 when it left first. */
function httpStatusOf(outcome: RequestOutcome): number {
  if (outcome.status === 'completed') return 200;
  if (outcome.status === 'cancelled') return 499;
  return describeError(outcome.error).status;
}

function errorKindOf(outcome: RequestOutcome): string | null {
  if (outcome.status === 'completed') return null;
  if (outcome.status === 'cancelled') return 'cancelled';
  const { error } = outcome;
  if (isProviderError(error)) return error.kind;
  if (isGatewayError(error)) return error.code ?? error.type;
  return describeError(error).body.error.code ?? 'internal';
}

/** Tokens by class: from the cost when the request was priced, else split from the usage the same way. */
function tokensOf(outcome: RequestOutcome): LedgerTokens {
  if (outcome.cost !== undefined) {
    const { tokens } = outcome.cost;
    return {
      input: tokens.input,
      cachedInput: tokens.cachedInput,
      cacheWrite: tokens.cacheWrite5m + tokens.cacheWrite1h,
      output: tokens.output,
      reasoning: tokens.reasoning,
    };
  }
  const usage = outcome.usage;
  if (usage === undefined) return { input: 0, cachedInput: 0, cacheWrite: 0, output: 0, reasoning: 0 };
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
  const written = Number(usage.prompt_tokens_details?.['cache_creation_tokens'] ?? 0);
  return {
    input: Math.max(0, usage.prompt_tokens - cached - written),
    cachedInput: cached,
    cacheWrite: written,
    output: usage.completion_tokens,
    reasoning: 0,
  };
}

function costOf(outcome: RequestOutcome, currency: string): LedgerCost | null {
  const { cost } = outcome;
  if (cost === undefined) {
    // Unpriced: no cost, flagged. Nothing reported and nothing estimated (a refused call): billed nothing.
    return outcome.unpriced
      ? null
      : { currency, input: 0n, cachedInput: 0n, cacheWrite: 0n, output: 0n, reasoning: 0n, total: 0n };
  }
  return {
    currency: cost.currency,
    input: cost.input.amount,
    cachedInput: cost.cachedInput.amount,
    cacheWrite: cost.cacheWrite.amount,
    output: cost.output.amount,
    reasoning: cost.reasoning?.amount ?? 0n,
    total: cost.total.amount,
  };
}

/**
 * The ledger row of a settled request: who, what, which deployment, how it ended, tokens by class and the exact
 * cost in the reporting currency (`null` cost: the model has no price).
 *
 * @example
 * writer.write(toLedgerRow(outcome, 'USD'));
 */
export function toLedgerRow(outcome: RequestOutcome, currency: string): LedgerRow {
  return {
    requestId: outcome.requestId,
    createdAt: new Date(outcome.startedAt),
    apiKeyId: outcome.keyId ?? null,
    model: outcome.model,
    provider: outcome.providerId,
    upstreamModel: outcome.upstreamModel,
    endpoint: outcome.endpoint,
    stream: outcome.stream,
    status: outcome.status,
    httpStatus: httpStatusOf(outcome),
    errorKind: errorKindOf(outcome),
    attempts: outcome.attempts,
    fallback: outcome.fallback,
    ttftMs: outcome.ttftMs === undefined ? null : Math.round(outcome.ttftMs),
    latencyMs: Math.round(outcome.latencyMs),
    tokens: tokensOf(outcome),
    cost: costOf(outcome, currency),
    estimated: outcome.estimated,
    ...(outcome.cacheHit === true ? { cacheHit: true, costSaved: outcome.costSaved?.amount ?? 0n } : {}),
  };
}

/**
 * Writes one ledger row per settled request (an array push; the writer batches it to the database off the request
 * path).
 *
 * @example
 * const settle = combineSettleHooks([ledgerSubscriber(writer, pricing.currency)]);
 */
export function ledgerSubscriber(writer: LedgerWriter, currency: string): SettleHook {
  return (outcome) => {
    writer.write(toLedgerRow(outcome, currency));
  };
}
