import type { IncomingHttpHeaders } from 'node:http';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Dispatcher } from 'undici';
import { ResponseChunks } from './response-chunks.ts';
import { SOCKET_WATCH, type SocketWatch, type WatchedDispatchOptions } from './reuse-tracking-client.ts';
import type { TransportResponse } from './transport.ts';

// One request of the HTTP transport, from dispatch to the last byte of its answer: the handler undici calls back
// (its controller API: onRequestStart, onResponseStart, onResponseData, onResponseEnd, onResponseError). It turns
// those calls into what the `Transport` contract promises: a promise for the answer's head, a body of chunks that
// the connection pushes into, the caller's abort as the rejection (also mid-body), a connection failure as a
// `TypeError` whose `cause` is the network error, and one more try of a request the upstream closed its reused
// connection under.

/** Counters the exchanges keep for the transport's `stats()`. */
export interface ExchangeCounters {
  inFlight: number;
  connectTimeouts: number;
  staleSocketRetries: number;
}

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

// Errors of a connection that closed, or was reset, under a request that had been written to it.
const CLOSED_UNDER_REQUEST = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? Reflect.get(error, 'code') : undefined;
}

function decoderFor(encoding: string | string[] | undefined): Transform | undefined {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return undefined;
  }
}

/** undici aborts with an Error; a signal's reason may be anything (only the caller's rejection carries it as is). */
function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new DOMException('This operation was aborted', 'AbortError');
}

/** A header as `Headers.get` gives it: repeated ones joined with `, `, `null` when absent. */
function headerOf(headers: IncomingHttpHeaders, name: string): string | null {
  const value = headers[name.toLowerCase()];
  if (value === undefined) return null;
  return typeof value === 'string' ? value : value.join(', ');
}

/**
 * One request and its answer. `start()` dispatches it; the caller awaits `head`. `release` is called exactly once,
 * when the connection is free again (the answer read to its end, or the request failed).
 */
export class HttpExchange implements Dispatcher.DispatchHandler {
  readonly head: Promise<TransportResponse>;
  #resolve!: (response: TransportResponse) => void;
  #reject!: (error: unknown) => void;
  #settled = false;
  #finished = false;
  #retried = false;
  #controller: Dispatcher.DispatchController | undefined;
  #abortReason: unknown = undefined;
  #aborted = false;
  #body: ResponseChunks | undefined;
  #decoder: Transform | undefined;
  readonly #dispatcher: Dispatcher;
  readonly #options: WatchedDispatchOptions;
  readonly #watch: SocketWatch;
  readonly #signal: AbortSignal | undefined;
  readonly #counters: ExchangeCounters;
  readonly #release: (() => void) | undefined;
  readonly #onAbort: () => void;

  constructor(
    dispatcher: Dispatcher,
    options: WatchedDispatchOptions,
    signal: AbortSignal | undefined,
    counters: ExchangeCounters,
    release: (() => void) | undefined,
  ) {
    this.head = new Promise<TransportResponse>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#dispatcher = dispatcher;
    this.#options = options;
    this.#watch = { client: undefined, socket: 0, reused: false };
    options[SOCKET_WATCH] = this.#watch;
    this.#signal = signal;
    this.#counters = counters;
    this.#release = release;
    this.#onAbort = () => this.#abort(signal?.reason);
  }

  /** Sends the request. */
  start(): void {
    this.#counters.inFlight += 1;
    if (this.#signal?.aborted === true) {
      // Aborted while it waited for a connection of a capped pool.
      this.#abort(this.#signal.reason);
      this.#finish();
      return;
    }
    // The signal must reach a body still being read, so it is let go only once the answer is over.
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#dispatcher.dispatch(this.#options, this);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // Aborted while waiting for its connection: it goes no further.
    if (this.#aborted) controller.abort(asError(this.#abortReason));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200 || this.#settled) return;
    const hasBody = !NULL_BODY_STATUSES.has(statusCode) && this.#options.method !== 'HEAD';
    if (hasBody) {
      this.#body = new ResponseChunks({
        pause: () => controller.pause(),
        resume: () => controller.resume(),
        cancel: () => {
          this.#decoder?.destroy();
          controller.abort(new DOMException('The body was cancelled', 'AbortError'));
        },
      });
      this.#decoder = decoderFor(headers['content-encoding']);
      if (this.#decoder !== undefined) this.#decode(this.#decoder, this.#body, controller);
    }
    const body = this.#body ?? null;
    this.#settled = true;
    this.#resolve({
      ok: statusCode >= 200 && statusCode < 300,
      status: statusCode,
      headers: { get: (name) => headerOf(headers, name) },
      body,
      text: () => (body === null ? Promise.resolve('') : body.text()),
    });
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#decoder !== undefined) this.#decoder.write(chunk);
    else this.#body?.push(chunk);
  }

  onResponseEnd(): void {
    if (this.#decoder !== undefined) this.#decoder.end();
    else this.#body?.end();
    this.#finish();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    if (this.#aborted) {
      this.#finish();
      return;
    }
    if (!this.#settled) {
      if (this.#mayRetry(error)) {
        this.#retried = true;
        this.#counters.staleSocketRetries += 1;
        this.#controller = undefined;
        this.#dispatcher.dispatch(this.#options, this);
        return;
      }
      if (codeOf(error) === 'UND_ERR_CONNECT_TIMEOUT') this.#counters.connectTimeouts += 1;
      this.#settled = true;
      this.#reject(new TypeError('fetch failed', { cause: error }));
    } else {
      this.#decoder?.destroy();
      this.#body?.fail(new TypeError('terminated', { cause: error }));
    }
    this.#finish();
  }

  /**
   * A request may go out once more when the upstream closed (or reset) the connection under it and nothing of the
   * answer came, and that connection had carried an earlier request and was not replaced since: the upstream closed
   * an idle keep-alive connection as the request reached it, so it did not process it. undici already sends again,
   * by itself, a request that had not been written when such a close was seen (it checks an idle connection before
   * writing to it); this is the race that check cannot see: the close and the request crossing on the wire.
   */
  #mayRetry(error: Error): boolean {
    const watch = this.#watch;
    if (this.#retried || !watch.reused || watch.client?.isCurrent(watch.socket) !== true) return false;
    const code = codeOf(error);
    if (typeof code !== 'string' || !CLOSED_UNDER_REQUEST.has(code)) return false;
    watch.client = undefined;
    watch.reused = false;
    return true;
  }

  #abort(reason: unknown): void {
    if (this.#aborted || this.#finished) return;
    this.#aborted = true;
    this.#abortReason = reason;
    if (!this.#settled) {
      this.#settled = true;
      this.#reject(reason);
    }
    this.#decoder?.destroy();
    this.#body?.fail(reason);
    // Before its connection, undici has no handle on the request: onRequestStart aborts it then.
    this.#controller?.abort(asError(reason));
  }

  #decode(decoder: Transform, body: ResponseChunks, controller: Dispatcher.DispatchController): void {
    decoder.on('data', (chunk: Buffer) => body.push(chunk));
    decoder.once('end', () => body.end());
    decoder.once('error', (error: Error) => {
      body.fail(new TypeError('terminated', { cause: error }));
      controller.abort(error);
    });
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#counters.inFlight -= 1;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#release?.();
  }
}
