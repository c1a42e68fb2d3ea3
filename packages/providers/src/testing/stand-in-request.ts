// Cheap reads of a request body the stand-in received. It is the upstream of our benchmarks, so it walks the
// JSON by hand instead of running a full schema over every request.

/** A field of a JSON object, or undefined. */
export function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? Reflect.get(value, key) : undefined;
}

/** The text of a message content: a string, or the `text` of its parts joined by spaces. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content) {
    const partText = field(part, 'text');
    if (typeof partText === 'string') text = text === '' ? partText : `${text} ${partText}`;
  }
  return text;
}

/** Number of whitespace-separated words: the stand-in's token count. */
export function countWords(text: string): number {
  let count = 0;
  let inWord = false;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    const space = code === 32 || (code >= 9 && code <= 13);
    if (!space && !inWord) count += 1;
    inWord = !space;
  }
  return count;
}

/** A 4xx answer to a request the stand-in refuses: its status and JSON body (OpenAI's or Anthropic's envelope). */
export interface RequestProblem {
  status: number;
  body: unknown;
}

/** An OpenAI-style 400 answer, as OpenAI words it. */
export function invalidRequest(message: string, param: string | null, code: string | null = null): RequestProblem {
  return { status: 400, body: { error: { message, type: 'invalid_request_error', param, code } } };
}
