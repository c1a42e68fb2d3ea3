// The HTTP an adapter needs for its calls, narrower than `fetch`: a URL, a method, plain headers, a string body and a
// signal in; a status, headers to look up, a body to stream or read out. The default one is `createHttpTransport`'s
// (http-transport.ts, on undici), which builds no Request, Response, Headers or web stream per call; `fetch` is one
// too (a `Response` is a TransportResponse).

/** One request as a {@link Transport} takes it. */
export interface TransportRequest {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/** Headers looked up by name, case-insensitively (`null` when absent); `Headers` is one. */
export interface HeaderLookup {
  get(name: string): string | null;
}

/** A body as it arrives: a web stream (`fetch`) or any async iterable of bytes (a Node readable). */
export type TransportBody = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/** What the adapters read of an answer; `fetch`'s `Response` is one. */
export interface TransportResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly headers: HeaderLookup;
  /** The body as it arrives; `null` when the answer has none. Read it or `text()`, not both. */
  readonly body: TransportBody | null;
  text(): Promise<string>;
}

/**
 * Sends one request and resolves once the answer's head has arrived; the body streams after. It rejects as `fetch`
 * does: with the signal's reason once aborted (also while the body is read), and with an error (`cause`: the
 * network error) when the connection fails.
 *
 * @example
 * const http = createHttpTransport();
 * const provider = createProvider({ kind: 'openai', apiKey, transport: http.transport });
 */
export type Transport = (url: string, request: TransportRequest) => Promise<TransportResponse>;
