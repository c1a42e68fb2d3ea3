import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { pipeline, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

/** Options for {@link createUpstreamFetch}. */
export interface UpstreamFetchOptions {
  /** Most sockets per upstream host; default 256. */
  maxSockets?: number;
  /** How long an idle keep-alive socket is kept; default 4 s (under common server idle timeouts; a server's Keep-Alive hint wins). */
  keepAliveMs?: number;
}

/** The subset of `fetch` the gateway hands to providers, plus a way to close its sockets. */
export interface UpstreamFetch {
  readonly fetch: typeof globalThis.fetch;
  /** Destroys pooled sockets (for shutdown). */
  close(): void;
}

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

function decoded(response: IncomingMessage): Readable {
  const encoding = response.headers['content-encoding'];
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : encoding === 'br' ? createBrotliDecompress() : undefined;
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

function responseHeaders(response: IncomingMessage): Headers {
  const headers = new Headers();
  const raw = response.rawHeaders;
  for (let index = 0; index + 1 < raw.length; index += 2) headers.append(raw[index] as string, raw[index + 1] as string);
  return headers;
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
  const agentOptions = { keepAlive: true, keepAliveMsecs: 1000, maxSockets: options.maxSockets ?? 256, timeout: options.keepAliveMs ?? 4_000, scheduling: 'lifo' as const };
  const httpAgent = new HttpAgent(agentOptions);
  const httpsAgent = new HttpsAgent(agentOptions);

  const upstreamFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request ? input : new Request(input, init);
    const signal = request.signal;
    signal.throwIfAborted();
    const body = request.body === null ? undefined : Buffer.from(await request.arrayBuffer());
    signal.throwIfAborted();
    const url = new URL(request.url);
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    if (body !== undefined) headers['content-length'] = String(body.byteLength);
    const secure = url.protocol === 'https:';

    const send = (retryStaleSocket: boolean): Promise<Response> =>
      new Promise<Response>((resolve, reject) => {
        const outgoing = (secure ? httpsRequest : httpRequest)(
          {
            protocol: url.protocol,
            hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
            port: url.port,
            path: url.pathname + url.search,
            method: request.method,
            headers,
            agent: secure ? httpsAgent : httpAgent,
          },
          (response) => {
            const status = response.statusCode ?? 502;
            const hasBody = !NULL_BODY_STATUSES.has(status) && request.method !== 'HEAD';
            if (!hasBody) response.resume();
            const stream = hasBody ? bodyStream(decoded(response)) : null;
            resolve(new Response(stream, { status, statusText: response.statusMessage ?? '', headers: responseHeaders(response) }));
          },
        );
        const onAbort = (): void => {
          const reason: unknown = signal.reason;
          outgoing.destroy(reason instanceof Error ? reason : new DOMException('This operation was aborted', 'AbortError'));
          reject(reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        // The signal must reach a body still being read, so let go of it only once the response is done.
        outgoing.once('response', (response) => response.once('close', () => signal.removeEventListener('abort', onAbort)));
        outgoing.once('error', (error: NodeJS.ErrnoException) => {
          signal.removeEventListener('abort', onAbort);
          if (signal.aborted) {
            reject(signal.reason);
          } else if (retryStaleSocket && outgoing.reusedSocket && error.code === 'ECONNRESET') {
            // The upstream closed an idle keep-alive socket as we reused it: nothing was processed.
            resolve(send(false));
          } else {
            reject(new TypeError('fetch failed', { cause: error }));
          }
        });
        outgoing.end(body);
      });
    return send(true);
  };

  return {
    fetch: upstreamFetch,
    close: () => {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
