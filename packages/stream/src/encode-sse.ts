import type { SseMessage } from './sse-message.ts';

/** The `data: [DONE]` terminator OpenAI-style clients wait for, already encoded. */
export const SSE_DONE: string = 'data: [DONE]\n\n';

const LINE_BREAK = /\r\n|\r|\n/;
const HAS_LINE_BREAK = /[\r\n]/;

/**
 * Serialises one event: optional `event:`, `id:` and `retry:` lines, then each line of `data` as its
 * own `data:` line, then a blank line. A string argument is shorthand for `{ data }`.
 *
 * Decoding the result gives the message back, except that `\r\n` and `\r` inside `data` come back
 * as `\n` (SSE has no way to carry them) and an empty `event` is the default event.
 *
 * @throws {TypeError} when `event` or `id` contains a line break (it would inject fields), or
 *   `retry` is not a non-negative integer.
 * @example
 * ```ts
 * encodeSse({ event: 'message_stop', data: '{"type":"message_stop"}' });
 * // 'event: message_stop\ndata: {"type":"message_stop"}\n\n'
 * encodeSse('line 1\nline 2'); // 'data: line 1\ndata: line 2\n\n'
 * ```
 */
export function encodeSse(message: SseMessage | string): string {
  if (typeof message === 'string') return encodeData(message);
  const { event, id, retry, data } = message;
  // The common gateway case (`{ data: json }`) is one concatenation.
  if (event === undefined && id === undefined && retry === undefined) return encodeData(data);
  let head = '';
  if (event !== undefined && event !== '') head += `event: ${checkField('event', event)}\n`;
  if (id !== undefined) head += `id: ${checkField('id', id)}\n`;
  if (retry !== undefined) {
    if (!Number.isSafeInteger(retry) || retry < 0) {
      throw new TypeError(`SSE retry must be a non-negative integer, got ${String(retry)}`);
    }
    head += `retry: ${retry}\n`;
  }
  return head + encodeData(data);
}

function encodeData(data: string): string {
  if (!HAS_LINE_BREAK.test(data)) return `data: ${data}\n\n`;
  return `data: ${data.split(LINE_BREAK).join('\ndata: ')}\n\n`;
}

function checkField(name: 'event' | 'id', value: string): string {
  if (HAS_LINE_BREAK.test(value)) throw new TypeError(`SSE ${name} must not contain a line break`);
  return value;
}
