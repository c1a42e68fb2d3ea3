/** One event of an SSE body as a test reads it. */
export interface SseFrame {
  /** The `event:` field; `undefined` for the default `message` event. */
  event: string | undefined;
  /** The `data:` lines, joined with `\n`. */
  data: string;
}

/**
 * The events of a whole SSE body, in order: frames are separated by a blank line; comment lines (`:`) and frames
 * without data are skipped. Strict about the framing a server under test must produce: a line that is no SSE field
 * fails the test.
 *
 * @example
 * const [first] = sseFrames(await response.text()); // { event: 'message_start', data: '{…}' }
 */
export function sseFrames(text: string): SseFrame[] {
  const frames: SseFrame[] = [];
  for (const block of text.replaceAll('\r\n', '\n').split('\n\n')) {
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field !== 'id' && field !== 'retry') throw new Error(`not an SSE line: ${JSON.stringify(line)}`);
    }
    if (data.length > 0) frames.push({ event, data: data.join('\n') });
  }
  return frames;
}

/**
 * The `data:` payloads of an SSE body, in order (`[DONE]` included, as sent).
 *
 * @example
 * expect(sseData(await response.text()).at(-1)).toBe('[DONE]');
 */
export function sseData(text: string): string[] {
  return sseFrames(text).map((frame) => frame.data);
}
