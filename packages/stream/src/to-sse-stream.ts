import { encodeSse } from './encode-sse.ts';
import type { SseMessage } from './sse-message.ts';

/** What {@link toSseStream} writes: a message (encoded with `encodeSse`), or pre-encoded text or bytes. */
export type SseStreamItem = SseMessage | string | Uint8Array;

/** Options of {@link toSseStream}. */
export interface ToSseStreamOptions {
  /**
   * Called when the source throws. A returned message is written before the stream closes normally
   * (a string is written as-is, like a string item, so pass `encodeSse(...)` output or a message
   * object); `undefined` errors the stream with the source's error. If `onError` throws, the
   * stream errors with that.
   */
  onError?: (error: unknown) => SseMessage | string | undefined;
  /** While waiting this long for the source, write a `: keep-alive` comment; repeats. Off by default. */
  heartbeatMs?: number;
}

const HEARTBEAT = ': keep-alive\n\n';
// setTimeout cannot wait longer than this; a larger interval is as good as none.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Turns an async source of SSE messages (or pre-encoded strings or bytes) into a pull-based byte
 * stream for an HTTP response body.
 *
 * The source is read only when the consumer asks for more (no read-ahead queue), so a slow client
 * slows the upstream read instead of growing memory. `cancel()` (the client went away) calls
 * `source.return()` so the upstream request is torn down (without waiting for it when a read of the
 * source is in progress, since an async generator's `return()` queues behind that read). Strings are
 * written as-is; messages are
 * encoded with {@link encodeSse}; bytes are passed through without a copy. Nothing is appended at
 * the end: yield `SSE_DONE` yourself if the protocol wants it. A source may also hand its last item as
 * the value of its done result (`return SSE_DONE` from a generator), as {@link pipeSseToNode} takes it.
 *
 * @throws {RangeError} when `heartbeatMs` is given and not a positive number.
 * @example
 * ```ts
 * async function* body() {
 *   for await (const chunk of provider.chatStream(request, { signal })) yield { data: JSON.stringify(chunk) };
 *   yield SSE_DONE;
 * }
 * return new Response(
 *   toSseStream(body(), { heartbeatMs: 15_000, onError: (error) => ({ data: JSON.stringify(toErrorBody(error)) }) }),
 *   { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } },
 * );
 * ```
 */
export function toSseStream(
  source: AsyncIterable<SseStreamItem, SseStreamItem | void>,
  options: ToSseStreamOptions = {},
): ReadableStream<Uint8Array> {
  const { onError, heartbeatMs } = options;
  if (heartbeatMs !== undefined && !(heartbeatMs > 0)) {
    throw new RangeError(`heartbeatMs must be a positive number, got ${String(heartbeatMs)}`);
  }
  const heartbeatInterval = heartbeatMs !== undefined && heartbeatMs <= MAX_TIMER_MS ? heartbeatMs : undefined;
  const iterator = source[Symbol.asyncIterator]();
  let finished = false;
  let waiting = false;
  let timer: NodeJS.Timeout | undefined;
  let streamController: ReadableStreamDefaultController<Uint8Array> | undefined;

  // Buffer.from, not TextEncoder: it fills small strings into a shared pool instead of allocating a fresh
  // ArrayBuffer per item, several times faster for the few hundred bytes of a typical SSE message.
  const toBytes = (item: SseStreamItem): Uint8Array =>
    item instanceof Uint8Array ? item : Buffer.from(typeof item === 'string' ? item : encodeSse(item), 'utf8');

  const finish = (): void => {
    finished = true;
    waiting = false;
    clearTimeout(timer);
  };

  const closeSource = (): void => {
    try {
      iterator.return?.().then(undefined, () => {});
    } catch {
      // Nothing more can be done for a source whose return() throws.
    }
  };

  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, error: unknown): void => {
    finish();
    let last: SseMessage | string | undefined;
    try {
      last = onError?.(error);
    } catch (handlerError) {
      controller.error(handlerError);
      return;
    }
    if (last === undefined) {
      controller.error(error);
      return;
    }
    controller.enqueue(toBytes(last));
    controller.close();
  };

  const onHeartbeat = (): void => {
    const controller = streamController;
    if (!waiting || finished || controller === undefined) return;
    // Only into an empty queue: a client that is not reading gets at most one pending heartbeat.
    if ((controller.desiredSize ?? 0) >= 0) controller.enqueue(Buffer.from(HEARTBEAT, 'latin1'));
    timer?.refresh();
  };

  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        streamController = controller;
      },
      async pull(controller) {
        if (heartbeatInterval !== undefined) {
          if (timer === undefined) timer = setTimeout(onHeartbeat, heartbeatInterval).unref();
          else timer.refresh();
        }
        // One pull must end in enqueue, close or error: the stream does not pull again by itself
        // while the read that asked for this pull is still waiting.
        for (;;) {
          waiting = true;
          let result: IteratorResult<SseStreamItem, SseStreamItem | void>;
          try {
            result = await iterator.next();
          } catch (error) {
            if (!finished) fail(controller, error);
            return;
          }
          waiting = false;
          if (finished) return; // cancelled while waiting: the stream is gone
          const item = result.value;
          let bytes: Uint8Array | undefined;
          try {
            bytes = item === undefined ? undefined : toBytes(item);
          } catch (error) {
            // An item encodeSse refuses ends the stream like a failing source, and stops the source.
            if (result.done !== true) closeSource();
            fail(controller, error);
            return;
          }
          if (result.done === true) {
            // A last item handed with the done result (see pipeSseToNode) goes out before the close.
            finish();
            if (bytes !== undefined && bytes.byteLength > 0) controller.enqueue(bytes);
            controller.close();
            return;
          }
          if (bytes !== undefined && bytes.byteLength > 0) {
            controller.enqueue(bytes);
            return;
          }
        }
      },
      async cancel() {
        if (finished) return;
        const pulling = waiting;
        finish();
        // While a pull waits, an async generator's return() queues behind that wait; do not hold the
        // cancel (and the response teardown behind it) hostage to an upstream that may never answer.
        if (pulling) {
          closeSource();
          return;
        }
        try {
          await iterator.return?.();
        } catch {
          // The client is gone and nobody is left to tell; the source has stopped either way.
        }
      },
    },
    // Read nothing ahead: the source is pulled only when the consumer has asked for a chunk.
    { highWaterMark: 0 },
  );
}
