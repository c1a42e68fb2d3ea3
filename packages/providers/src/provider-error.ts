/**
 * What went wrong, as a closed set. A `switch` over it is exhaustive; never branch on `error.message`.
 * - `context_window`: the prompt (plus max tokens) does not fit the model.
 * - `content_filter`: the vendor's safety system refused the input or output.
 * - `quota`: the account is out of credit or quota; retrying will not help.
 * - `overloaded`: the vendor is shedding load (503, 529); retry later or elsewhere.
 * - `cancelled`: the caller's AbortSignal fired.
 */
export type ProviderErrorKind =
  | 'authentication'
  | 'permission'
  | 'not_found'
  | 'invalid_request'
  | 'context_window'
  | 'content_filter'
  | 'rate_limit'
  | 'quota'
  | 'timeout'
  | 'connection'
  | 'overloaded'
  | 'server'
  | 'cancelled';

/** Constructor options of {@link ProviderError}. */
export interface ProviderErrorOptions {
  kind: ProviderErrorKind;
  message: string;
  /** Upstream HTTP status, when the error came from an HTTP answer. */
  status?: number | undefined;
  /** Defaults by kind: true for rate_limit, overloaded, server, timeout and connection. */
  retryable?: boolean | undefined;
  retryAfterMs?: number | undefined;
  provider?: string | undefined;
  model?: string | undefined;
  /** The vendor's own error code, e.g. `context_length_exceeded` or Zhipu's `1113`. */
  code?: string | undefined;
  param?: string | undefined;
  /** The vendor's own error type, e.g. `invalid_request_error`. */
  type?: string | undefined;
  cause?: unknown;
}

// Symbol.for, so the guard also recognises errors from a second copy of this package in node_modules.
const PROVIDER_ERROR_MARKER: unique symbol = Symbol.for('gw.error.provider');

const RETRYABLE_KINDS: ReadonlySet<ProviderErrorKind> = new Set<ProviderErrorKind>([
  'rate_limit',
  'overloaded',
  'server',
  'timeout',
  'connection',
]);

/**
 * The one error every provider adapter throws. Its fields follow the shape `@gw/retry` understands
 * (`status`, `retryable`, `retryAfterMs`), and its message never contains the provider's API key.
 *
 * @example
 * ```ts
 * try {
 *   await provider.chat(request);
 * } catch (error) {
 *   if (isProviderError(error) && error.kind === 'rate_limit') await sleep(error.retryAfterMs ?? 1000);
 * }
 * ```
 */
export class ProviderError extends Error {
  readonly [PROVIDER_ERROR_MARKER] = true;
  override readonly name = 'ProviderError';
  readonly kind: ProviderErrorKind;
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly provider: string | undefined;
  readonly model: string | undefined;
  readonly code: string | undefined;
  readonly param: string | undefined;
  readonly type: string | undefined;

  constructor(options: ProviderErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = options.kind;
    this.status = options.status;
    this.retryable = options.retryable ?? RETRYABLE_KINDS.has(options.kind);
    this.retryAfterMs = options.retryAfterMs;
    this.provider = options.provider;
    this.model = options.model;
    this.code = options.code;
    this.param = options.param;
    this.type = options.type;
  }
}

/**
 * True when `error` is a {@link ProviderError}, also across duplicate installs of this package.
 *
 * @example
 * ```ts
 * if (isProviderError(error)) console.log(error.kind, error.status);
 * ```
 */
export function isProviderError(error: unknown): error is ProviderError {
  return typeof error === 'object' && error !== null && Reflect.get(error, PROVIDER_ERROR_MARKER) === true;
}

/**
 * Internal (for adapters): the kind an HTTP error status says by itself, when the vendor's body gives no code or type
 * that says more. 402 is an exhausted balance; 503 and 529 are overload; 408 and 504 timeouts; other 4xx the
 * request's fault; anything else a server failure.
 *
 * @example
 * kindFromHttpStatus(529); // 'overloaded'
 */
export function kindFromHttpStatus(status: number): ProviderErrorKind {
  switch (status) {
    case 401:
      return 'authentication';
    case 402:
      return 'quota';
    case 403:
      return 'permission';
    case 404:
      return 'not_found';
    case 408:
    case 504:
      return 'timeout';
    case 429:
      return 'rate_limit';
    case 503:
    case 529:
      return 'overloaded';
    default:
      return status >= 400 && status < 500 ? 'invalid_request' : 'server';
  }
}
