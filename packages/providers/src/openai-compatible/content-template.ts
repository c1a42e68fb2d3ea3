import type { ChatCompletionChunk, ChatCompletionChunkChoice } from '../chat-api.ts';

/**
 * Internal: most chunks of a streamed answer repeat the one before them except for the text of the delta
 * (`…"delta":{"content":"<text>"},…`). A template learnt from one such chunk reads the next ones with two string
 * comparisons instead of `JSON.parse`, which was the largest single cost of relaying a stream.
 *
 * Safe by construction: a text is read through the template only when it starts with the template's prefix (everything
 * up to the content string's opening quote), ends with its suffix (everything from the closing quote), and what lies
 * between is one JSON string body (no unescaped quote, no control character, no dangling backslash). Such a text is
 * the template's chunk with another content string, so the result equals what `JSON.parse` would have built; anything
 * else is left to `JSON.parse`.
 */
export interface ContentTemplate {
  /** The wire text up to and including the content string's opening quote. */
  prefix: string;
  /** The wire text from the content string's closing quote on. */
  suffix: string;
  chunk: ChatCompletionChunk;
  choice: ChatCompletionChunkChoice;
}

const CONTENT_KEY = '"content":';
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const FIRST_PRINTABLE = 0x20;

/**
 * A template from a chunk parsed from `text`, when the chunk is a plain text delta: one choice, a delta holding only
 * `content`, no finish reason, no usage, and the content written once in the text without spaces around the colon.
 */
export function contentTemplateOf(chunk: ChatCompletionChunk, text: string): ContentTemplate | undefined {
  if (chunk.choices.length !== 1 || chunk.usage != null) return undefined;
  const choice = chunk.choices[0];
  if (choice === undefined || choice.finish_reason != null) return undefined;
  const keys = Object.keys(choice.delta);
  const content = choice.delta.content;
  if (keys.length !== 1 || keys[0] !== 'content' || typeof content !== 'string') return undefined;
  const marker = CONTENT_KEY + JSON.stringify(content);
  const at = text.indexOf(marker);
  if (at < 0 || text.includes(marker, at + 1)) return undefined;
  // Copies: the chunk itself is handed out, and whoever receives it may change it (a relay drops its usage field).
  return {
    prefix: text.slice(0, at + CONTENT_KEY.length + 1),
    suffix: text.slice(at + marker.length - 1),
    chunk: { ...chunk },
    choice: { ...choice },
  };
}

/** The chunk `text` says, read through `template`; `undefined` when the text is not the template's chunk with another content. */
export function chunkFromTemplate(template: ContentTemplate, text: string): ChatCompletionChunk | undefined {
  const { prefix, suffix } = template;
  const end = text.length - suffix.length;
  // Slices compared with ===: a flat comparison, several times faster here than startsWith/endsWith.
  if (end < prefix.length || text.slice(0, prefix.length) !== prefix || text.slice(end) !== suffix) return undefined;
  let escaped = false;
  for (let index = prefix.length; index < end; index += 1) {
    const code = text.charCodeAt(index);
    if (code === QUOTE || code < FIRST_PRINTABLE) return undefined;
    if (code === BACKSLASH) {
      // The escaped character is skipped (an escaped quote is part of the content). A backslash right before the
      // closing quote would escape it: JSON.parse below refuses that body.
      escaped = true;
      index += 1;
    }
  }
  let content = text.slice(prefix.length, end);
  if (escaped) {
    try {
      const decoded: unknown = JSON.parse(`"${content}"`);
      if (typeof decoded !== 'string') return undefined;
      content = decoded;
    } catch {
      return undefined;
    }
  }
  // Fresh objects every time: whoever receives the chunk may change it.
  return { ...template.chunk, choices: [{ ...template.choice, delta: { content } }] };
}
