import type { AliasState, DeploymentState } from './deployment-state.ts';

/** The price of a deployment for the request at hand; undefined when unknown. */
export type PriceOf = (state: DeploymentState) => number | undefined;

/**
 * Round-robin over `candidates` (a subset of the alias, in alias order): the first candidate at or after the alias
 * cursor, wrapping around; the cursor then moves past it. Also breaks the ties of the other strategies, so that
 * equal deployments share the traffic.
 */
function roundRobin(alias: AliasState, candidates: readonly DeploymentState[]): DeploymentState {
  const chosen = candidates.find((state) => state.index >= alias.cursor) ?? candidates[0];
  if (chosen === undefined) throw new RangeError('no candidate deployment');
  alias.cursor = (chosen.index + 1) % alias.states.length;
  return chosen;
}

/**
 * Smooth weighted round-robin (as in nginx) over the candidates: deterministic, exact over each cycle of the weights,
 * and it interleaves deployments instead of sending bursts to the heaviest. Deployments out of rotation keep their
 * running weight, so they rejoin where they left off.
 */
function weighted(candidates: readonly DeploymentState[]): DeploymentState {
  let best: DeploymentState | undefined;
  let total = 0;
  for (const state of candidates) {
    state.currentWeight += state.deployment.weight;
    total += state.deployment.weight;
    if (best === undefined || state.currentWeight > best.currentWeight) best = state;
  }
  if (best === undefined) throw new RangeError('no candidate deployment');
  best.currentWeight -= total;
  return best;
}

/** The candidates with the lowest score (undefined scores only when no candidate has one), ties by round-robin. */
function lowest(
  alias: AliasState,
  candidates: readonly DeploymentState[],
  score: (state: DeploymentState) => number | undefined,
): DeploymentState {
  let min = Number.POSITIVE_INFINITY;
  for (const state of candidates) {
    const value = score(state);
    if (value !== undefined && value < min) min = value;
  }
  const best = min === Number.POSITIVE_INFINITY ? candidates : candidates.filter((state) => score(state) === min);
  return roundRobin(alias, best);
}

/**
 * Chooses one of `candidates` (healthy, untried deployments of `alias`, in alias order) by the alias's strategy.
 * - `least-busy`: fewest calls in flight.
 * - `latency`: deployments never measured first (so each gets measured), then the lowest EWMA.
 * - `cost`: the lowest price; unknown prices only when no candidate has a price.
 */
export function pickDeployment(
  alias: AliasState,
  candidates: readonly DeploymentState[],
  priceOf: PriceOf,
): DeploymentState {
  switch (alias.strategy) {
    case 'round-robin':
      return roundRobin(alias, candidates);
    case 'weighted':
      return weighted(candidates);
    case 'least-busy':
      return lowest(alias, candidates, (state) => state.inFlight);
    case 'latency': {
      const unmeasured = candidates.filter((state) => state.ewmaTtftMs === undefined);
      return unmeasured.length > 0
        ? roundRobin(alias, unmeasured)
        : lowest(alias, candidates, (state) => state.ewmaTtftMs);
    }
    case 'cost':
      return lowest(alias, candidates, priceOf);
  }
}
