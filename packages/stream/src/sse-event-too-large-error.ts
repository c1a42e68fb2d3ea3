const MARKER: unique symbol = Symbol.for('gw.error.sse-event-too-large');

/** Thrown by {@link decodeSse} when one event grew past `maxEventSize` before it ended. */
export class SseEventTooLargeError extends Error {
  /** The limit that was passed, in characters of decoded text. */
  readonly maxEventSize: number;
  readonly [MARKER] = true;

  /** @param maxEventSize the limit that was passed, in characters of decoded text */
  constructor(maxEventSize: number) {
    super(`A stream event grew past the limit of ${maxEventSize} characters`);
    this.name = 'SseEventTooLargeError';
    this.maxEventSize = maxEventSize;
  }
}

/**
 * Whether `error` is a {@link SseEventTooLargeError}, also across duplicate installs of this package.
 *
 * @example
 * ```ts
 * try {
 *   for await (const message of decodeSse(body, { maxEventSize: 1 << 20 })) handle(message);
 * } catch (error) {
 *   if (isSseEventTooLargeError(error)) console.warn(`event over ${error.maxEventSize} characters`);
 *   else throw error;
 * }
 * ```
 */
export function isSseEventTooLargeError(error: unknown): error is SseEventTooLargeError {
  return typeof error === 'object' && error !== null && MARKER in error && error[MARKER] === true;
}
