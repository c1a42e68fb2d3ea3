import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { pipeline, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Transport, TransportRequest, TransportResponse } from '@gw/providers';

/** Options for {@link createUpstreamFetch}. */
export interface UpstreamFetchOptions {
  /** Most sockets per upstream host; default 256. */
  maxSockets?: number;
  /** How long an idle keep-alive socket is kept; default 4 s (under common server idle timeouts; a server's Keep-Alive hint wins). */
  keepAliveMs?: number;
  /**
   * Longest wait for a new connection (TCP, and TLS for https) to be established; default none. A reused
   * keep-alive socket is not timed. The call then fails as a connection error with code `ETIMEDOUT`.
   */
  connectTimeoutMs?: number | undefined;
}

/** The connection failure of a connect that took too long. */
function connectTimeoutError(ms: number): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`connect timed out after ${ms} ms`);
  error.code = 'ETIMEDOUT';
  return error;
}

/** The subset of `fetch` the gateway hands to providers, the lighter transport for their chat calls, and a way to close their sockets. */
export interface UpstreamFetch {
  readonly fetch: typeof globalThis.fetch;
  /** The same requests (over the same sockets) without the Request, Response and web stream objects. */
  readonly transport: Transport;
  /** Destroys pooled sockets (for shutdown). */
  close(): void;
}

// The platform's Response, taken before @hono/node-server's serve() swaps the global for its own lighter
// class: that class is built for responses hono writes out, and one whose body or text() is read (every
// upstream response is) builds a platform Response on top of itself anyway.
const PlatformResponse = globalThis.Response;

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

function decoded(response: IncomingMessage): Readable {
  const encoding = response.headers['content-encoding'];
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? createGunzip()
      : encoding === 'deflate'
        ? createInflate()
        : encoding === 'br'
          ? createBrotliDecompress()
          : undefined;
  // pipeline, not pipe: a connection cut mid-body must reach the decoder as an error.
  return decoder === undefined ? response : pipeline(response, decoder, () => undefined);
}

/**
 * The response body as a web stream that pulls from the socket: data events are paused while
 * the stream's queue is full and resumed when the reader asks for more. (Readable.toWeb does the
 * same at several times the cost per response.)
 */
function bodyStream(source: Readable): ReadableStream<Uint8Array> {
  let settled = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      source.on('data', (chunk: Buffer) => {
        controller.enqueue(chunk);
        if ((controller.desiredSize ?? 0) <= 0) source.pause();
      });
      source.once('end', () => {
        if (settled) return;
        settled = true;
        controller.close();
      });
      source.once('error', (error) => {
        if (settled) return;
        settled = true;
        controller.error(error);
      });
      source.once('close', () => {
        if (settled) return;
        settled = true;
        controller.error(new Error('the upstream connection closed before the response ended'));
      });
    },
    pull() {
      source.resume();
    },
    cancel() {
      settled = true;
      source.destroy();
    },
  });
}

function toResponse(response: IncomingMessage, body: Readable | null): Response {
  const stream = body === null ? null : bodyStream(body);
  return new PlatformResponse(stream, {
    status: response.statusCode ?? 502,
    statusText: response.statusMessage ?? '',
    headers: responseHeaders(response),
  });
}

/** A header of a Node answer as `Headers.get` gives it: repeated headers joined with `, `, `null` when absent. */
function headerOf(response: IncomingMessage, name: string): string | null {
  const value = response.headers[name.toLowerCase()];
  if (value === undefined) return null;
  return typeof value === 'string' ? value : value.join(', ');
}

// Chunks that may wait unread before the socket is paused.
const QUEUED_CHUNKS = 16;

/**
 * The chunks of a Node stream, handed out in order: a lighter iterator than the stream's own (an async generator,
 * which measured more instructions per streamed answer than the web stream it replaced). Reading starts at once, as
 * `fetch` does, so a short body nobody reads still ends and frees its socket; chunks wait in a queue, and the
 * source is paused while 16 are waiting and resumed as they are taken. A stream that closes before its end fails
 * the read; `return()` destroys the stream, so a reader that stops early tears the upstream request down. One
 * iteration only, like a response body.
 */
function chunksOf(source: Readable): AsyncIterable<Uint8Array> {
  const queue: Buffer[] = [];
  let head = 0;
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const waiting = wake;
    wake = undefined;
    waiting?.();
  };
  source.on('data', (chunk: Buffer) => {
    queue.push(chunk);
    if (queue.length - head >= QUEUED_CHUNKS) source.pause();
    notify();
  });
  source.once('end', () => {
    ended = true;
    notify();
  });
  source.once('error', (error) => {
    failure ??= error;
    notify();
  });
  source.once('close', () => {
    if (!ended) failure ??= new Error('the upstream connection closed before the response ended');
    notify();
  });
  const iterator: AsyncIterator<Uint8Array> = {
    async next(): Promise<IteratorResult<Uint8Array>> {
      for (;;) {
        const chunk = queue[head];
        if (chunk !== undefined) {
          head += 1;
          if (head === queue.length) {
            queue.length = 0;
            head = 0;
          }
          if (source.isPaused() && queue.length - head < QUEUED_CHUNKS) source.resume();
          return { done: false, value: chunk };
        }
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- the stream error as it came
        if (failure !== undefined) throw failure;
        if (ended) return { done: true, value: undefined };
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
    async return(): Promise<IteratorResult<Uint8Array>> {
      ended = true;
      queue.length = 0;
      head = 0;
      source.destroy();
      notify();
      return { done: true, value: undefined };
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}

/** A transport answer straight over the Node response, its body the (decoded) Node stream's chunks. */
function toTransportResponse(response: IncomingMessage, source: Readable | null): TransportResponse {
  const status = response.statusCode ?? 502;
  const body = source === null ? null : chunksOf(source);
  return {
    ok: status >= 200 && status < 300,
    status,
    headers: { get: (name) => headerOf(response, name) },
    body,
    text: async () => {
      if (body === null) return '';
      const chunks: Uint8Array[] = [];
      for await (const chunk of body) chunks.push(chunk);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}

/** A transport request's headers as node:http takes them: lower-cased, with the body's length. */
function lowerCasedWithLength(request: TransportRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of Object.keys(request.headers)) {
    const value = request.headers[name];
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  if (request.body !== undefined) {
    headers['content-type'] ??= 'text/plain;charset=UTF-8';
    headers['content-length'] = String(Buffer.byteLength(request.body));
  }
  return headers;
}

/** Where a request goes, parsed once per URL. */
interface Target {
  secure: boolean;
  protocol: string;
  hostname: string;
  port: string;
  path: string;
}

/** One request as node:http takes it. */
interface Outgoing {
  target: Target;
  method: string;
  headers: Record<string, string>;
  body: string | Buffer | undefined;
  signal: AbortSignal | undefined;
}

const MAX_CACHED_TARGETS = 256;
// Methods `new Request` would leave as they are; anything else takes the Request path to be normalised.
const PLAIN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

function toTarget(url: URL): Target {
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TypeError(`fetch failed: unsupported protocol ${url.protocol}`);
  return {
    secure: url.protocol === 'https:',
    protocol: url.protocol,
    hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    port: url.port,
    path: url.pathname + url.search,
  };
}

/** Plain-object headers whose values are all strings (what the providers pass), not a Headers object or pairs. */
function isStringRecord(value: unknown): value is Record<string, string> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return false;
  for (const item of Object.values(value)) if (typeof item !== 'string') return false;
  return true;
}

/**
 * The common provider call (a URL string, a string or no body, plain-object headers) without a
 * `Request`: building one and reading its body back costs more than the rest of the call.
 * Anything else is left to the Request path, which normalises every form `fetch` accepts.
 */
function fastRequest(
  input: string | URL | Request,
  init: RequestInit | undefined,
): (Omit<Outgoing, 'target'> & { href: string }) | undefined {
  if (input instanceof Request) return undefined;
  const method = init?.method ?? 'GET';
  const body = init?.body ?? undefined;
  const rawHeaders = init?.headers ?? {};
  if (!PLAIN_METHODS.has(method) || (body !== undefined && typeof body !== 'string') || !isStringRecord(rawHeaders))
    return undefined;
  if ((method === 'GET' || method === 'HEAD') && body !== undefined) return undefined; // Request throws for these
  const headers = lowerCasedWithLength({ method, headers: rawHeaders, ...(body === undefined ? {} : { body }) });
  return {
    href: typeof input === 'string' ? input : input.href,
    method,
    headers,
    body,
    signal: init?.signal ?? undefined,
  };
}

// Pairs rather than a Headers object: `new Response` copies its init headers, and iterating a Headers
// object sorts it first.
function responseHeaders(response: IncomingMessage): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  const raw = response.rawHeaders;
  for (let index = 0; index + 1 < raw.length; index += 2) pairs.push([raw[index] as string, raw[index + 1] as string]);
  return pairs;
}

/**
 * A `fetch` for provider calls built on node:http(s) with keep-alive agents. The platform fetch
 * (undici) spends more CPU per call than the whole rest of the gateway's request path; this one
 * keeps the same contract the providers rely on: a `Response` whose body streams as bytes arrive,
 * rejection with the signal's reason on abort (also mid-body), a `TypeError` with the network
 * error as `cause` when the connection fails. A request that hits a keep-alive socket the
 * upstream has just closed is sent once more on a fresh one. Redirects are not followed (API
 * calls do not get them).
 *
 * @example
 * const upstream = createUpstreamFetch();
 * const provider = createProvider({ kind: 'openai', apiKey, fetch: upstream.fetch });
 */
export function createUpstreamFetch(options: UpstreamFetchOptions = {}): UpstreamFetch {
  const agentOptions = {
    keepAlive: true,
    keepAliveMsecs: 1000,
    maxSockets: options.maxSockets ?? 256,
    timeout: options.keepAliveMs ?? 4_000,
    scheduling: 'lifo' as const,
  };
  const httpAgent = new HttpAgent(agentOptions);
  const httpsAgent = new HttpsAgent(agentOptions);

  // Parsed request targets by URL string: providers call the same few URLs over and over.
  const targets = new Map<string, Target>();
  const targetOf = (href: string): Target => {
    let target = targets.get(href);
    if (target === undefined) {
      target = toTarget(new URL(href));
      // Bounded, for callers that put ids into their URLs.
      if (targets.size >= MAX_CACHED_TARGETS) targets.clear();
      targets.set(href, target);
    }
    return target;
  };

  const send = <R>(
    outgoingRequest: Outgoing,
    retryStaleSocket: boolean,
    answer: (response: IncomingMessage, body: Readable | null) => R,
  ): Promise<R> =>
    new Promise<R>((resolve, reject) => {
      const { target, method, headers, body, signal } = outgoingRequest;
      const outgoing = (target.secure ? httpsRequest : httpRequest)(
        {
          protocol: target.protocol,
          hostname: target.hostname,
          port: target.port,
          path: target.path,
          method,
          headers,
          agent: target.secure ? httpsAgent : httpAgent,
        },
        (response) => {
          const hasBody = !NULL_BODY_STATUSES.has(response.statusCode ?? 502) && method !== 'HEAD';
          if (!hasBody) response.resume();
          resolve(answer(response, hasBody ? decoded(response) : null));
        },
      );
      const connectTimeoutMs = options.connectTimeoutMs;
      if (connectTimeoutMs !== undefined) {
        outgoing.once('socket', (socket) => {
          // A pooled socket is already connected; only a new one is timed, until it connects (secureConnect for TLS).
          if (!socket.connecting) return;
          const timer = setTimeout(() => outgoing.destroy(connectTimeoutError(connectTimeoutMs)), connectTimeoutMs);
          socket.once(target.secure ? 'secureConnect' : 'connect', () => clearTimeout(timer));
          socket.once('close', () => clearTimeout(timer));
        });
      }
      if (signal !== undefined) {
        const onAbort = (): void => {
          const reason: unknown = signal.reason;
          outgoing.destroy(
            reason instanceof Error ? reason : new DOMException('This operation was aborted', 'AbortError'),
          );
          reject(reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        // The signal must reach a body still being read, so let go of it only once the response is done.
        outgoing.once('response', (response) =>
          response.once('close', () => signal.removeEventListener('abort', onAbort)),
        );
        outgoing.once('error', () => signal.removeEventListener('abort', onAbort));
      }
      outgoing.once('error', (error: NodeJS.ErrnoException) => {
        if (signal?.aborted === true) {
          reject(signal.reason);
        } else if (retryStaleSocket && outgoing.reusedSocket && error.code === 'ECONNRESET') {
          // The upstream closed an idle keep-alive socket as we reused it: nothing was processed.
          resolve(send(outgoingRequest, false, answer));
        } else {
          reject(new TypeError('fetch failed', { cause: error }));
        }
      });
      // A string body is written together with the header block in one socket write.
      outgoing.end(body);
    });

  const upstreamFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const fast = fastRequest(input, init);
    if (fast !== undefined) {
      fast.signal?.throwIfAborted();
      return send({ ...fast, target: targetOf(fast.href) }, true, toResponse);
    }
    const request = input instanceof Request ? input : new Request(input, init);
    const signal = request.signal;
    signal.throwIfAborted();
    const body = request.body === null ? undefined : Buffer.from(await request.arrayBuffer());
    signal.throwIfAborted();
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    if (body !== undefined) headers['content-length'] = String(body.byteLength);
    return send(
      { target: toTarget(new URL(request.url)), method: request.method, headers, body, signal },
      true,
      toResponse,
    );
  };

  const transport: Transport = (url, request) => {
    // A rejection, as fetch gives, not a throw.
    if (request.signal?.aborted === true) return Promise.reject(request.signal.reason);
    const headers = lowerCasedWithLength(request);
    return send(
      { target: targetOf(url), method: request.method, headers, body: request.body, signal: request.signal },
      true,
      toTransportResponse,
    );
  };

  return {
    fetch: upstreamFetch,
    transport,
    close: () => {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
