// Reads the fields @gw/retry understands from any thrown value, without importing ProviderError:
// `status`, `retryable`, `retryAfterMs`, `kind`. Type guards only, so a value of the wrong type is ignored
// rather than trusted.

function field(error: unknown, name: string | symbol): unknown {
  return typeof error === 'object' && error !== null ? Reflect.get(error, name) : undefined;
}

/** Whether the error carries `marker` (a `Symbol.for` key, so the check holds across duplicate installs). */
export function hasMarker(error: unknown, marker: symbol): boolean {
  return field(error, marker) === true;
}

/** The HTTP status on an error, when it carries a numeric `status`. */
export function statusOf(error: unknown): number | undefined {
  const status = field(error, 'status');
  return typeof status === 'number' && Number.isFinite(status) ? status : undefined;
}

/** The error's own verdict, when it carries a boolean `retryable`. */
export function retryableOf(error: unknown): boolean | undefined {
  const retryable = field(error, 'retryable');
  return typeof retryable === 'boolean' ? retryable : undefined;
}

/** How long the upstream asked us to wait, when the error carries a non-negative `retryAfterMs`. */
export function retryAfterOf(error: unknown): number | undefined {
  const retryAfterMs = field(error, 'retryAfterMs');
  return typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) && retryAfterMs >= 0
    ? retryAfterMs
    : undefined;
}

/** The error's `kind` string (ProviderError's kinds and ours), when it has one. */
export function kindOf(error: unknown): string | undefined {
  const kind = field(error, 'kind');
  return typeof kind === 'string' && kind !== '' ? kind : undefined;
}

/**
 * The key under which stats and events file an error: its `kind`, else `status:<code>`, else `unknown`
 * (a plain network Error has neither).
 */
export function statsKeyOf(error: unknown): string {
  const kind = kindOf(error);
  if (kind !== undefined) return kind;
  const status = statusOf(error);
  return status === undefined ? 'unknown' : `status:${status}`;
}

/** True for an AbortSignal's reason as fetch and Node throw it (`AbortError`), whatever its class. */
export function isAbortError(error: unknown): boolean {
  return field(error, 'name') === 'AbortError';
}
