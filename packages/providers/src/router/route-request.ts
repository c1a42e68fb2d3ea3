import { isProviderError, ProviderError } from '../provider-error.ts';
import type { ProviderErrorKind } from '../provider-error.ts';
import type { AliasState, DeploymentState } from './deployment-state.ts';
import { dispositionOfError, kindOfError } from './error-disposition.ts';
import type { Disposition } from './error-disposition.ts';
import { pickDeployment } from './pick-deployment.ts';
import type { PriceOf } from './pick-deployment.ts';
import type { AcquireSlot, AttemptWrapper, FallbackReason, RouterEvent } from './router-types.ts';

/** What every routed call shares: the aliases, the clock, the cooldown rules and the plug-ins. */
export interface RoutingContext {
  readonly aliases: ReadonlyMap<string, AliasState>;
  readonly now: () => number;
  readonly afterFailures: number;
  readonly cooldownMs: number;
  readonly coolingKinds: ReadonlySet<ProviderErrorKind>;
  readonly attempt: AttemptWrapper;
  readonly acquire: AcquireSlot | undefined;
  readonly emit: (event: RouterEvent) => void;
}

/** True while the deployment is out of rotation; notices (and announces) the end of a cooldown. */
export function isCooling(context: RoutingContext, state: DeploymentState): boolean {
  if (state.cooldownUntil === undefined) return false;
  if (context.now() < state.cooldownUntil) return true;
  state.cooldownUntil = undefined;
  context.emit({ type: 'cooldown-end', deployment: state.deployment });
  return false;
}

/** A call on the deployment succeeded: the failure streak ends. */
export function recordSuccess(state: DeploymentState): void {
  state.consecutiveFailures = 0;
}

/**
 * A call on the deployment failed. Errors that blame the request (invalid_request, context_window, content_filter,
 * cancelled) leave the deployment's record alone; the others count, and those of a cooling kind may cool it down.
 */
export function recordFailure(context: RoutingContext, state: DeploymentState, error: unknown): void {
  const disposition = dispositionOfError(error);
  if (disposition !== 'next-then-fallback' && disposition !== 'next-only') return;
  const now = context.now();
  const kind = kindOfError(error);
  state.failures += 1;
  state.lastFailureAt = now;
  state.lastErrorKind = kind;
  if (kind === undefined || !context.coolingKinds.has(kind)) return;
  state.consecutiveFailures += 1;
  if (state.consecutiveFailures < context.afterFailures) return;
  // A vendor that says when to come back knows better than our default.
  const retryAfterMs = isProviderError(error) ? (error.retryAfterMs ?? 0) : 0;
  state.cooldownUntil = now + Math.max(context.cooldownMs, retryAfterMs);
  state.consecutiveFailures = 0;
  context.emit({ type: 'cooldown-start', deployment: state.deployment, until: state.cooldownUntil, error });
}

/** The error a cancelled call rejects with: the adapter's own `cancelled` error, or one made for it. */
export function cancelledError(error: unknown): unknown {
  if (isProviderError(error) && error.kind === 'cancelled') return error;
  return new ProviderError({ kind: 'cancelled', message: 'The request was cancelled', cause: error });
}

/**
 * The error a routed call rejects with: the last one. When several attempts failed, it is a copy of the last
 * `ProviderError` whose `cause` is an `AggregateError` of every attempt's error, in order (the last included).
 */
export function finalError(errors: readonly unknown[]): unknown {
  const last = errors.at(-1);
  if (errors.length <= 1 || !isProviderError(last)) return last;
  return new ProviderError({
    kind: last.kind,
    message: last.message,
    status: last.status,
    retryable: last.retryable,
    retryAfterMs: last.retryAfterMs,
    provider: last.provider,
    model: last.model,
    code: last.code,
    param: last.param,
    type: last.type,
    cause: new AggregateError(errors, `All ${errors.length} attempts failed`),
  });
}

function unknownAlias(model: string): ProviderError {
  const shown = model.length > 200 ? `${model.slice(0, 200)}…` : model;
  return new ProviderError({
    kind: 'not_found',
    status: 404,
    message: `The model ${JSON.stringify(shown)} is not a routed model alias`,
    code: 'model_not_found',
    param: 'model',
  });
}

type AliasOutcome<T> = { ok: true; value: T } | { ok: false; disposition: Exclude<Disposition, 'stop'> };

/** Where the next alias comes from: `fallbacks`, or one of the two special lists once an error sent us there. */
type FallbackList = 'fallbacks' | 'contextWindowFallbacks' | 'contentFilterFallbacks';

const LIST_OF: Record<FallbackReason, FallbackList> = {
  retryable: 'fallbacks',
  context_window: 'contextWindowFallbacks',
  content_filter: 'contentFilterFallbacks',
};

/**
 * Runs `tryDeployment` on the deployments of the alias `model` names, then of its fallbacks, until one succeeds.
 * Within an alias each deployment is tried at most once, healthy ones first by the strategy; when every deployment
 * is cooling, the least recently failed one is tried alone. `tryDeployment` does the call and its bookkeeping.
 */
export async function routeRequest<T>(
  context: RoutingContext,
  model: string,
  signal: AbortSignal,
  priceOf: PriceOf,
  tryDeployment: (state: DeploymentState) => Promise<T>,
): Promise<T> {
  const requested = context.aliases.get(model);
  if (requested === undefined) throw unknownAlias(model);
  const errors: unknown[] = [];
  const visited = new Set<string>([requested.name]);
  let list: FallbackList = 'fallbacks';
  let alias = requested;
  for (;;) {
    const outcome = await tryAlias(context, alias, signal, priceOf, errors, tryDeployment);
    if (outcome.ok) return outcome.value;
    if (outcome.disposition === 'next-only') throw finalError(errors);
    const reason: FallbackReason = outcome.disposition === 'next-then-fallback' ? 'retryable' : outcome.disposition;
    // A retryable failure of a context-window (or content-filter) fallback moves along that same list.
    if (reason !== 'retryable') list = LIST_OF[reason];
    const next = requested[list].find((name) => !visited.has(name));
    const nextAlias = next === undefined ? undefined : context.aliases.get(next);
    if (next === undefined || nextAlias === undefined) throw finalError(errors);
    visited.add(next);
    context.emit({ type: 'fallback', from: alias.name, to: next, reason });
    alias = nextAlias;
  }
}

async function tryAlias<T>(
  context: RoutingContext,
  alias: AliasState,
  signal: AbortSignal,
  priceOf: PriceOf,
  errors: unknown[],
  tryDeployment: (state: DeploymentState) => Promise<T>,
): Promise<AliasOutcome<T>> {
  const tried = new Set<DeploymentState>();
  let blamedAccount = false;
  for (;;) {
    if (signal.aborted) throw cancelledError(signal.reason);
    const untried = alias.states.filter((state) => !tried.has(state));
    const healthy = untried.filter((state) => !isCooling(context, state));
    let chosen: DeploymentState | undefined;
    let cooling = false;
    if (healthy.length > 0) {
      chosen = pickDeployment(alias, healthy, priceOf);
    } else if (tried.size === 0) {
      // Every deployment is cooling: failing outright would turn a brief outage into a full one for the whole
      // cooldown, so the one that failed longest ago gets a chance.
      chosen = leastRecentlyFailed(untried);
      cooling = true;
    }
    if (chosen === undefined) return { ok: false, disposition: blamedAccount ? 'next-only' : 'next-then-fallback' };
    tried.add(chosen);
    context.emit({
      type: 'deployment-chosen',
      alias: alias.name,
      deployment: chosen.deployment,
      strategy: alias.strategy,
      cooling,
    });
    try {
      return { ok: true, value: await tryDeployment(chosen) };
    } catch (error) {
      if (signal.aborted) throw cancelledError(error);
      errors.push(error);
      context.emit({ type: 'attempt-failed', alias: alias.name, deployment: chosen.deployment, error });
      const disposition = dispositionOfError(error);
      if (disposition === 'stop') throw finalError(errors);
      if (disposition === 'context_window' || disposition === 'content_filter') return { ok: false, disposition };
      if (disposition === 'next-only') blamedAccount = true;
    }
  }
}

function leastRecentlyFailed(states: readonly DeploymentState[]): DeploymentState | undefined {
  let best: DeploymentState | undefined;
  for (const state of states) {
    if (
      best === undefined ||
      (state.lastFailureAt ?? Number.NEGATIVE_INFINITY) < (best.lastFailureAt ?? Number.NEGATIVE_INFINITY)
    ) {
      best = state;
    }
  }
  return best;
}
