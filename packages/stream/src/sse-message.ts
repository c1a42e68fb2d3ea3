/**
 * One server-sent event.
 *
 * `event` absent (or `undefined`) is the default `"message"` event. Decoded messages always carry the
 * `id` and `event` keys (possibly `undefined`) so every message has the same shape; compare them with
 * `toEqual`-style equality, not by listing keys.
 *
 * `retry` is the reconnection time in milliseconds that the server set since the previous message
 * (SSE sends it as a connection setting, not as part of an event); it is absent when none was sent.
 */
export interface SseMessage {
  /** Event type; absent means the default `"message"` event. */
  event?: string | undefined;
  /** The payload; several `data:` lines are joined with `\n`. */
  data: string;
  /** The event id (`id:` field) of this message, if it had one. */
  id?: string | undefined;
  /** Reconnection time in milliseconds (`retry:` field). */
  retry?: number;
}
