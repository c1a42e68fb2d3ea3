const GATEWAY_ERROR_MARKER = Symbol.for('gw.error.gateway');

/** Options for {@link GatewayError}: the HTTP answer the error stands for. */
export interface GatewayErrorOptions {
  /** HTTP status the client receives. */
  status: number;
  /** OpenAI envelope `type`, e.g. `invalid_request_error`. */
  type: string;
  /** OpenAI envelope `code`, e.g. `model_not_found`; `null` when there is none. */
  code?: string | null;
  /** The request field at fault, e.g. `messages[0].role`. */
  param?: string | null;
  /** Extra response headers (e.g. `allow` on a 405). */
  headers?: Record<string, string>;
  cause?: unknown;
}

/**
 * An error the gateway itself raises on purpose (bad input, unknown model, missing auth...).
 * It carries exactly what goes into the OpenAI error envelope; the error handler turns it into
 * the HTTP answer, so route code only throws.
 */
export class GatewayError extends Error {
  readonly status: number;
  readonly type: string;
  readonly code: string | null;
  readonly param: string | null;
  readonly headers: Record<string, string> | undefined;

  constructor(message: string, options: GatewayErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.status = options.status;
    this.type = options.type;
    this.code = options.code ?? null;
    this.param = options.param ?? null;
    this.headers = options.headers;
    Object.defineProperty(this, GATEWAY_ERROR_MARKER, { value: true });
  }
}

/**
 * True for a {@link GatewayError}, also across duplicate installs (checked by a global symbol marker).
 *
 * @example
 * if (isGatewayError(error)) console.log(error.status, error.code);
 */
export function isGatewayError(error: unknown): error is GatewayError {
  return typeof error === 'object' && error !== null && GATEWAY_ERROR_MARKER in error;
}
