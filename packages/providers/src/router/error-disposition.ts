import { isProviderError } from '../provider-error.ts';
import type { ProviderErrorKind } from '../provider-error.ts';

/**
 * What the router does after a deployment failed:
 * - `next-then-fallback`: try the alias's other deployments, then its `fallbacks`;
 * - `next-only`: try the alias's other deployments (another account may work), but no other alias;
 * - `context_window` / `content_filter`: go straight to that fallback list (every deployment of an alias serves the
 *   same model, so the others would refuse too);
 * - `stop`: the request itself is at fault, or the caller cancelled: throw.
 */
export type Disposition = 'next-then-fallback' | 'next-only' | 'context_window' | 'content_filter' | 'stop';

/** The table of docs/routing.md. Exhaustive over the kinds: a new kind does not compile until it is placed here. */
export function dispositionOfKind(kind: ProviderErrorKind): Disposition {
  switch (kind) {
    case 'rate_limit':
    case 'overloaded':
    case 'server':
    case 'timeout':
    case 'connection':
      return 'next-then-fallback';
    case 'authentication':
    case 'permission':
    case 'quota':
    case 'not_found':
      return 'next-only';
    case 'context_window':
      return 'context_window';
    case 'content_filter':
      return 'content_filter';
    case 'invalid_request':
    case 'cancelled':
      return 'stop';
  }
}

const KINDS: ReadonlySet<string> = new Set<ProviderErrorKind>([
  'authentication',
  'permission',
  'not_found',
  'invalid_request',
  'context_window',
  'content_filter',
  'rate_limit',
  'quota',
  'timeout',
  'connection',
  'overloaded',
  'server',
  'cancelled',
]);

function isKind(value: unknown): value is ProviderErrorKind {
  return typeof value === 'string' && KINDS.has(value);
}

/**
 * The kind of an error, read by shape so errors of an `attempt` wrapper (e.g. a breaker's) are understood too:
 * a `ProviderError`'s kind, else a `kind` field naming a known kind, else undefined.
 */
export function kindOfError(error: unknown): ProviderErrorKind | undefined {
  if (isProviderError(error)) return error.kind;
  if (typeof error !== 'object' || error === null) return undefined;
  const kind: unknown = Reflect.get(error, 'kind');
  return isKind(kind) ? kind : undefined;
}

/**
 * How the router treats an error. An error without a known kind (say, an open circuit breaker of the `attempt`
 * wrapper) moves on to the next deployment and the fallbacks when it says `retryable: true`, and stops otherwise.
 */
export function dispositionOfError(error: unknown): Disposition {
  const kind = kindOfError(error);
  if (kind !== undefined) return dispositionOfKind(kind);
  const retryable: unknown = typeof error === 'object' && error !== null ? Reflect.get(error, 'retryable') : undefined;
  return retryable === true ? 'next-then-fallback' : 'stop';
}

/** The kinds that cool a deployment down unless `cooldown.onlyFor` says otherwise: those that blame the deployment. */
export const DEFAULT_COOLING_KINDS: readonly ProviderErrorKind[] = [
  'rate_limit',
  'overloaded',
  'server',
  'timeout',
  'connection',
  'authentication',
  'permission',
  'quota',
  'not_found',
];
