// The console's only backend: the gateway's /admin/* API, with the master key as a Bearer token.

const STORAGE_KEY = 'gw.console.masterKey';

/** An answer of the admin API that was not 2xx, with the gateway's own message (OpenAI error envelope). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string | null;
  constructor(message: string, status: number, code: string | null) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function storedKey(): string | null {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function storeKey(key: string | null): void {
  if (key === null) sessionStorage.removeItem(STORAGE_KEY);
  else sessionStorage.setItem(STORAGE_KEY, key);
}

let onUnauthorized: () => void = () => {};

/** Called when a stored key stops working (the master key was changed): back to sign-in. */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

interface ErrorEnvelope {
  error?: { message?: string; code?: string | null };
}

/** Calls `/admin/<path>` with the key in sessionStorage (or `key`), and returns its JSON. */
export async function api<T>(
  path: string,
  options: { method?: string; body?: unknown; key?: string | null; signal?: AbortSignal } = {},
): Promise<T> {
  const key = options.key === undefined ? storedKey() : options.key;
  const headers: Record<string, string> = {};
  if (key !== null && key !== '') headers['authorization'] = `Bearer ${key}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`/admin/${path}`, {
      method: options.method ?? 'GET',
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError('The gateway did not answer: is it running? Check the address and try again.', 0, null);
  }
  const text = await response.text();
  let json: unknown = undefined;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    // Not JSON: a proxy's page, reported below by status.
  }
  if (!response.ok) {
    const envelope = (json ?? {}) as ErrorEnvelope;
    const message = envelope.error?.message ?? `The gateway answered ${response.status}.`;
    if (response.status === 401 && options.key === undefined) onUnauthorized();
    throw new ApiError(message, response.status, envelope.error?.code ?? null);
  }
  return json as T;
}

// ---- The shapes of the answers the pages read (snake_case, as the admin API writes them). ----

export interface UsagePoint {
  bucket: string;
  model?: string | null;
  provider?: string | null;
  key_id?: string | null;
  requests: number;
  errors: number;
  unpriced_requests: number;
  input_tokens: number;
  output_tokens: number;
  cost: number;
}

export interface Timeseries {
  currency: string;
  bucket: 'hour' | 'day';
  group_by: 'model' | 'provider' | 'key' | null;
  from: string;
  to: string;
  data: UsagePoint[];
}

export interface UsageGroupJson {
  key_id?: string | null;
  model?: string;
  requests: number;
  errors: number;
  unpriced_requests: number;
  input_tokens: number;
  output_tokens: number;
  cost: number;
}

export interface Percentiles {
  samples: number;
  p50: number | null;
  p95: number | null;
}

export interface LatencyAnswer {
  data: Array<{ model: string; latency_ms: Percentiles; ttft_ms: Percentiles }>;
}

export interface LedgerRowJson {
  request_id: string;
  created_at: string;
  key_id: string | null;
  model: string;
  provider: string;
  upstream_model: string;
  endpoint: string;
  stream: boolean;
  status: 'completed' | 'failed' | 'cancelled';
  http_status: number | null;
  error_kind: string | null;
  attempts: number;
  fallback: boolean;
  ttft_ms: number | null;
  latency_ms: number;
  input_tokens: number;
  output_tokens: number;
  tokens: { input: number; cached_input: number; cache_write: number; output: number; reasoning: number };
  cost: number | null;
  currency: string | null;
  cost_breakdown: Record<'input' | 'cached_input' | 'cache_write' | 'output' | 'reasoning' | 'total', string> | null;
  estimated: boolean;
  unpriced: boolean;
}

export interface KeyJson {
  id: string;
  name: string;
  prefix: string;
  models: string[] | null;
  rpm: number | null;
  tpm: number | null;
  max_parallel: number | null;
  budget: { amount: number; period: 'day' | 'month' | 'total'; currency: string } | null;
  spend: { amount: number; currency: string; period_start: string | null } | null;
  expires_at: string | null;
  created_at: string;
  revoked_at: string | null;
}

export interface ConfigAnswer {
  config: { pricing?: { currency?: string }; auth?: { masterKey?: string } };
}
