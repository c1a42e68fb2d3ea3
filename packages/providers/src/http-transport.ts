import { Agent, EnvHttpProxyAgent, Pool, type Dispatcher } from 'undici';
import { createConnectionGate, type ConnectionGate, type GateCounters } from './connection-gate.ts';
import { HttpExchange, type ExchangeCounters } from './http-exchange.ts';
import { ReuseTrackingClient, type WatchedDispatchOptions } from './reuse-tracking-client.ts';
import type { Transport, TransportRequest } from './transport.ts';

/** Options of {@link createHttpTransport}; every one has a default. */
export interface HttpTransportOptions {
  /**
   * Most connections per origin (scheme, host and port). Default: no limit, so a busy server can hold thousands of
   * streams to one vendor at once; the place to cap calls is the caller's own concurrency limit, where waiting is
   * seen. With a limit, requests past it wait for a free connection, at most `poolTimeoutMs`.
   */
  connections?: number | undefined;
  /**
   * Longest wait for a free connection when `connections` are all busy; past it the request fails with a
   * `PoolTimeoutError` (a `ProviderError` of kind `overloaded`, code `pool_timeout`, from the adapters). Default:
   * no limit. Ignored without `connections`.
   */
  poolTimeoutMs?: number | undefined;
  /**
   * Longest wait for a new connection (TCP, and TLS for https) to be established; default 10 000 ms. A reused
   * keep-alive connection is not timed. The call then fails as a connection error (code `UND_ERR_CONNECT_TIMEOUT`).
   */
  connectTimeoutMs?: number | undefined;
  /** How long an idle keep-alive connection is kept; default 4 000 ms (a server's `Keep-Alive: timeout` hint wins). */
  keepAliveMs?: number | undefined;
  /**
   * Longest wait, once a request is sent, for its answer to begin (status line and headers); past it the request is
   * torn down and the call fails with kind `timeout`, code `first_byte_timeout`. Most vendors send a non-streamed
   * answer's head with its body, so this must be at least as long as the slowest JSON answer (a reasoning model may
   * think for minutes). Default: no limit (the caller's signal decides).
   */
  headersTimeoutMs?: number | undefined;
  /**
   * Where `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` (or their lower-case forms) are read, once, at creation; default
   * `process.env`. Requests go through the proxy only when one of the first two is set, as a CONNECT tunnel; hosts
   * that `NO_PROXY` names (`host`, `host:port`, `.domain`, `*`) go direct. Pass `{}` to ignore the environment.
   */
  proxyEnv?: Readonly<Record<string, string | undefined>> | undefined;
}

/** What {@link HttpTransport.stats} reports: counts since creation, and what is happening now. */
export interface HttpTransportStats {
  /** Requests sent (a retried one counts once). */
  requests: number;
  /** Requests sent whose answer has not been read to its end (or failed) yet. */
  inFlight: number;
  /** Requests waiting for a free connection (only with `connections`). */
  waiting: number;
  /** Requests refused after `poolTimeoutMs` of waiting. */
  poolTimeouts: number;
  /** New connections that were not established within `connectTimeoutMs`. */
  connectTimeouts: number;
  /** Requests sent once more because the upstream closed their reused keep-alive connection as they reached it. */
  staleSocketRetries: number;
}

/** An HTTP client for the providers: its {@link Transport}, its counters and a way to close its connections. */
export interface HttpTransport {
  /** Hand it to `createProvider({ transport })`; one client can serve any number of providers. */
  readonly transport: Transport;
  stats(): HttpTransportStats;
  /** Destroys every connection (requests still running fail); for shutdown. */
  close(): Promise<void>;
}

/** Where a request goes, parsed once per URL. */
interface Target {
  origin: string;
  path: string;
}

const MAX_CACHED_TARGETS = 256;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_KEEP_ALIVE_MS = 4_000;

function toTarget(href: string): Target {
  const url = new URL(href);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TypeError(`fetch failed: unsupported protocol ${url.protocol}`);
  return { origin: url.origin, path: url.pathname + url.search };
}

/** Whether `headers` name a content type, in any case (the adapters write it lower-case). */
function hasContentType(headers: Record<string, string>): boolean {
  if ('content-type' in headers) return true;
  for (const name of Object.keys(headers)) if (name.toLowerCase() === 'content-type') return true;
  return false;
}

function proxySettings(
  env: Readonly<Record<string, string | undefined>>,
): { httpProxy: string; httpsProxy: string; noProxy: string } | undefined {
  const read = (name: string): string => env[name.toLowerCase()] ?? env[name] ?? '';
  const httpProxy = read('HTTP_PROXY');
  const httpsProxy = read('HTTPS_PROXY');
  if (httpProxy === '' && httpsProxy === '') return undefined;
  // Empty strings, not undefined: undici would read process.env for an option left out.
  return { httpProxy, httpsProxy, noProxy: read('NO_PROXY') };
}

/**
 * An HTTP/1.1 client for the providers' upstream calls, on undici's connection pools: keep-alive connections per
 * origin (no limit on their number unless `connections` is set, and then waiting for one is timed, counted and
 * refused with its own error), a connect timeout, gzip/deflate/br answers decoded, the proxy environment honoured,
 * and a request that the upstream closed its reused keep-alive connection under sent once more. Its transport
 * rejects as `fetch` does: with the signal's reason once aborted (also while the body is read), with a `TypeError`
 * whose `cause` is the network error when the connection fails, or when the answer's head did not come within
 * `headersTimeoutMs`. No request header (the vendor key is one) is kept in an error. Redirects are not followed (API
 * calls do not get them); the answer's body is an async iterable of bytes, not a web stream.
 *
 * @example
 * const http = createHttpTransport({ connectTimeoutMs: 5_000 });
 * const openai = createProvider({ kind: 'openai', apiKey, transport: http.transport });
 * const claude = createProvider({ kind: 'anthropic', apiKey: anthropicKey, transport: http.transport });
 * console.log(http.stats()); // { requests, inFlight, waiting, poolTimeouts, connectTimeouts, staleSocketRetries }
 * await http.close();
 */
export function createHttpTransport(options: HttpTransportOptions = {}): HttpTransport {
  const { connections, poolTimeoutMs } = options;
  const counters: ExchangeCounters & GateCounters & { requests: number } = {
    requests: 0,
    inFlight: 0,
    waiting: 0,
    poolTimeouts: 0,
    connectTimeouts: 0,
    staleSocketRetries: 0,
  };
  const agentOptions: Agent.Options = {
    // Every connection of every pool tells its requests whether it had carried one before (see http-exchange.ts).
    factory: (origin, poolOptions) =>
      new Pool(origin, {
        ...poolOptions,
        factory: (url, clientOptions) => new ReuseTrackingClient(url, clientOptions),
      }),
    connections: connections ?? null,
    connect: { timeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS },
    keepAliveTimeout: options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS,
    // The caller's signal decides how long an answer may take (a model may think for minutes before its first byte,
    // and a stream may pause): undici's own 300 s limits would cut those. A head limit only when asked for.
    headersTimeout: options.headersTimeoutMs ?? 0,
    bodyTimeout: 0,
  };
  const proxy = proxySettings(options.proxyEnv ?? process.env);
  const dispatcher: Dispatcher =
    proxy === undefined ? new Agent(agentOptions) : new EnvHttpProxyAgent({ ...agentOptions, ...proxy });

  // Parsed request targets by URL string: providers call the same few URLs over and over.
  const targets = new Map<string, Target>();
  const targetOf = (href: string): Target => {
    let target = targets.get(href);
    if (target === undefined) {
      target = toTarget(href);
      // Bounded, for callers that put ids into their URLs.
      if (targets.size >= MAX_CACHED_TARGETS) targets.clear();
      targets.set(href, target);
    }
    return target;
  };

  const gates = new Map<string, ConnectionGate>();
  const gateOf = (origin: string, limit: number): ConnectionGate => {
    let gate = gates.get(origin);
    if (gate === undefined) {
      gate = createConnectionGate(origin, limit, poolTimeoutMs, counters);
      gates.set(origin, gate);
    }
    return gate;
  };

  const send = (target: Target, request: TransportRequest, release: (() => void) | undefined) => {
    let headers = request.headers;
    if (request.body !== undefined && !hasContentType(headers)) {
      // The content type fetch gives a string body.
      headers = { ...headers, 'content-type': 'text/plain;charset=UTF-8' };
    }
    const dispatchOptions: WatchedDispatchOptions = {
      origin: target.origin,
      path: target.path,
      method: request.method,
      headers,
      body: request.body ?? null,
    };
    const exchange = new HttpExchange(dispatcher, dispatchOptions, request.signal, counters, release);
    exchange.start();
    return exchange.head;
  };

  const transport: Transport = (url, request) => {
    const { signal } = request;
    // A rejection, as fetch gives, not a throw.
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    let target: Target;
    try {
      target = targetOf(url);
    } catch (error) {
      return Promise.reject(error);
    }
    counters.requests += 1;
    if (connections === undefined) return send(target, request, undefined);
    const gate = gateOf(target.origin, connections);
    const release = (): void => gate.release();
    const waiting = gate.acquire(signal);
    return waiting === undefined ? send(target, request, release) : waiting.then(() => send(target, request, release));
  };

  return {
    transport,
    stats: () => ({
      requests: counters.requests,
      inFlight: counters.inFlight,
      waiting: counters.waiting,
      poolTimeouts: counters.poolTimeouts,
      connectTimeouts: counters.connectTimeouts,
      staleSocketRetries: counters.staleSocketRetries,
    }),
    close: () => dispatcher.destroy(),
  };
}
