import { pipeline, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Dispatcher } from 'undici';
import { ResponseChunks } from './response-chunks.ts';
import { SOCKET_WATCH, type SocketWatch, type WatchedDispatchOptions } from './reuse-tracking-client.ts';
import type { TransportResponse } from './transport.ts';

// One request of the HTTP transport, from dispatch to the last byte of its answer, sent with undici's `request()`.
// It turns undici's answer into what the `Transport` contract promises: a promise for the answer's head that the
// caller's abort rejects at once (undici would wait for a connection being opened), a body of chunks, the abort's
// reason as the rejection of a read (also mid-body), a connection failure as a `TypeError` whose `cause` is the network
// error, and one more try of a request the upstream closed its reused connection under.

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

/** The body decoded by its content encoding (gzip, deflate, br), or as it came. */
function decoded(body: Readable, encoding: string | string[] | undefined): Readable {
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? createGunzip()
      : encoding === 'deflate'
        ? createInflate()
        : encoding === 'br'
          ? createBrotliDecompress()
          : undefined;
  // pipeline, not pipe: a connection cut mid-body must reach the decoder as an error.
  return decoder === undefined ? body : pipeline(body, decoder, () => undefined);
}

/** A header as `Headers.get` gives it: repeated ones joined with `, `, `null` when absent. */
function headerOf(headers: Record<string, string | string[] | undefined>, name: string): string | null {
  const value = headers[name.toLowerCase()];
  if (value === undefined) return null;
  return typeof value === 'string' ? value : value.join(', ');
}

/**
 * The chunks of a Node stream as the adapters read them (see response-chunks.ts). A read fails as fetch's does: with
 * the signal's reason once aborted, else with a `TypeError` whose `cause` is what broke the body.
 */
function chunksOf(source: Readable, signal: AbortSignal | undefined): ResponseChunks {
  const chunks = new ResponseChunks({
    pause: () => source.pause(),
    resume: () => source.resume(),
    cancel: () => source.destroy(),
  });
  let ended = false;
  source.on('data', (chunk: Buffer) => chunks.push(chunk));
  source.once('end', () => {
    ended = true;
    chunks.end();
  });
  source.once('error', (error) =>
    chunks.fail(signal?.aborted === true ? signal.reason : new TypeError('terminated', { cause: error })),
  );
  source.once('close', () => {
    if (!ended) chunks.fail(new TypeError('terminated: the upstream connection closed before the answer ended'));
  });
  return chunks;
}

/**
 * One request and its answer: `start()` sends it and the caller awaits `head`. `release` is called exactly once,
 * when the connection is free again (the answer read to its end, or the request failed).
 */
export class HttpExchange {
  readonly head: Promise<TransportResponse>;
  #resolve!: (response: TransportResponse) => void;
  #reject!: (error: unknown) => void;
  #settled = false;
  #finished = false;
  #retried = false;
  readonly #dispatcher: Dispatcher;
  readonly #options: WatchedDispatchOptions & { signal?: AbortSignal | undefined };
  readonly #watch: SocketWatch;
  readonly #signal: AbortSignal | undefined;
  readonly #counters: ExchangeCounters;
  readonly #release: (() => void) | undefined;
  readonly #onAbort: () => void;
  readonly #onAnswer: (error: Error | null, data: Dispatcher.ResponseData) => void;
  readonly #finish: () => void;

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
    this.#watch = { client: undefined, socket: 0, reused: false };
    // undici's own abort handling reaches the connection and a body being read; ours rejects the head at once.
    this.#options = { ...options, [SOCKET_WATCH]: this.#watch, signal };
    this.#signal = signal;
    this.#counters = counters;
    this.#release = release;
    this.#onAbort = () => this.#rejectHead(signal?.reason);
    this.#onAnswer = (error, data) => (error === null ? this.#answer(data) : this.#fail(error));
    this.#finish = () => {
      if (this.#finished) return;
      this.#finished = true;
      this.#counters.inFlight -= 1;
      this.#release?.();
    };
  }

  /** Sends the request. */
  start(): void {
    this.#counters.inFlight += 1;
    if (this.#signal?.aborted === true) {
      // Aborted while it waited for a connection of a capped pool.
      this.#rejectHead(this.#signal.reason);
      this.#finish();
      return;
    }
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#dispatcher.request(this.#options, this.#onAnswer);
  }

  #answer(data: Dispatcher.ResponseData): void {
    this.#signal?.removeEventListener('abort', this.#onAbort);
    const { statusCode, headers, body } = data;
    // The connection is free once undici's body is over (read to its end, or destroyed).
    body.once('close', this.#finish);
    if (this.#settled) {
      // Aborted meanwhile: the caller has its rejection; let the connection go.
      body.destroy();
      return;
    }
    this.#settled = true;
    const hasBody = !NULL_BODY_STATUSES.has(statusCode) && this.#options.method !== 'HEAD';
    if (!hasBody) body.resume();
    const chunks = hasBody ? chunksOf(decoded(body, headers['content-encoding']), this.#signal) : null;
    this.#resolve({
      ok: statusCode >= 200 && statusCode < 300,
      status: statusCode,
      headers: { get: (name) => headerOf(headers, name) },
      body: chunks,
      text: () => (chunks === null ? Promise.resolve('') : chunks.text()),
    });
  }

  #fail(error: Error): void {
    if (!this.#settled && this.#mayRetry(error)) {
      this.#retried = true;
      this.#counters.staleSocketRetries += 1;
      this.#dispatcher.request(this.#options, this.#onAnswer);
      return;
    }
    this.#signal?.removeEventListener('abort', this.#onAbort);
    if (codeOf(error) === 'UND_ERR_CONNECT_TIMEOUT') this.#counters.connectTimeouts += 1;
    this.#rejectHead(new TypeError('fetch failed', { cause: error }));
    this.#finish();
  }

  /**
   * A request may go out once more when the upstream closed (or reset) the connection under it before a byte of the
   * answer came, and that connection had carried an earlier request and was not replaced since: the upstream closed
   * an idle keep-alive connection as the request reached it, so it did not process it. undici already sends again,
   * by itself, a request that had not been written when such a close was seen (it checks an idle connection before
   * writing to it); this is the race that check cannot see: the close and the request crossing on the wire.
   */
  #mayRetry(error: Error): boolean {
    const watch = this.#watch;
    if (this.#retried || this.#signal?.aborted === true) return false;
    if (!watch.reused || watch.client?.isCurrent(watch.socket) !== true) return false;
    const code = codeOf(error);
    if (typeof code !== 'string' || !CLOSED_UNDER_REQUEST.has(code)) return false;
    watch.client = undefined;
    watch.reused = false;
    return true;
  }

  #rejectHead(reason: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#reject(reason);
  }
}
