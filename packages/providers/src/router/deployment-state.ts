import type { ProviderErrorKind } from '../provider-error.ts';
import type { DeploymentHealth, RouterDeployment, RoutingStrategy } from './router-types.ts';

/** The mutable bookkeeping of one deployment. */
export interface DeploymentState {
  readonly deployment: RouterDeployment;
  /** Position in its alias, for round-robin cursors and tie-breaking. */
  readonly index: number;
  inFlight: number;
  ewmaTtftMs: number | undefined;
  cooldownUntil: number | undefined;
  lastFailureAt: number | undefined;
  lastErrorKind: ProviderErrorKind | undefined;
  calls: number;
  failures: number;
  consecutiveFailures: number;
  /** Smooth weighted round-robin's running weight. */
  currentWeight: number;
}

/** One alias at run time. */
export interface AliasState {
  readonly name: string;
  readonly strategy: RoutingStrategy;
  readonly states: readonly DeploymentState[];
  readonly fallbacks: readonly string[];
  readonly contextWindowFallbacks: readonly string[];
  readonly contentFilterFallbacks: readonly string[];
  /** The index round-robin starts looking from next time. */
  cursor: number;
}

/**
 * Weight of the newest sample in the latency EWMA. 0.3 follows a change within a handful of requests (a sample
 * weighs under 3% after ten more) while one slow answer moves the average by less than a third of its excess.
 */
export const LATENCY_EWMA_ALPHA = 0.3;

/** A fresh state for a deployment. */
export function createDeploymentState(deployment: RouterDeployment, index: number): DeploymentState {
  return {
    deployment,
    index,
    inFlight: 0,
    ewmaTtftMs: undefined,
    cooldownUntil: undefined,
    lastFailureAt: undefined,
    lastErrorKind: undefined,
    calls: 0,
    failures: 0,
    consecutiveFailures: 0,
    currentWeight: 0,
  };
}

/** Folds one latency sample into the deployment's EWMA (the first sample is taken as it is). */
export function recordLatency(state: DeploymentState, latencyMs: number): void {
  const sample = Math.max(0, latencyMs);
  state.ewmaTtftMs =
    state.ewmaTtftMs === undefined ? sample : LATENCY_EWMA_ALPHA * sample + (1 - LATENCY_EWMA_ALPHA) * state.ewmaTtftMs;
}

/** The public snapshot of a state. */
export function healthOf(state: DeploymentState): DeploymentHealth {
  const { deployment } = state;
  return {
    id: deployment.id,
    alias: deployment.alias,
    providerId: deployment.providerId,
    model: deployment.model,
    inFlight: state.inFlight,
    ewmaTtftMs: state.ewmaTtftMs,
    cooldownUntil: state.cooldownUntil,
    lastErrorKind: state.lastErrorKind,
    calls: state.calls,
    failures: state.failures,
    consecutiveFailures: state.consecutiveFailures,
  };
}
