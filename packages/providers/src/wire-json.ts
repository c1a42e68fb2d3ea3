import { needsAssistantNormalising } from './chat-api.ts';
import type { ChatCompletionChunk, ChatCompletionResponse } from './chat-api.ts';

// The wire JSON is kept on the chunk (or response) itself: a WeakMap entry per chunk cost more than the
// JSON.stringify it saves. A symbol key, so JSON.stringify and zod never see it; the entry names its owner, so a
// spread copy of a chunk (which copies own symbol keys) does not pass for the original.
const WIRE_JSON = Symbol('gw.wireJson');

interface WireEntry {
  owner: object;
  text: string;
}

/**
 * A chunk or a response as the entry's holder. The symbol key is written and read directly: `Reflect.set` cost
 * several times more per chunk. The `id` member (every chunk and response has one) keeps this from being a weak
 * type, which TypeScript would not let a chunk be assigned to.
 */
interface WireHolder {
  id?: unknown;
  [WIRE_JSON]?: WireEntry;
}

/**
 * Internal (for adapters): remembers `text` as the wire JSON of `value`, unchecked: the caller vouches that the value
 * is what the text says, unchanged (see `isCanonicalResponse`), and, for a chunk, that the text holds no line break.
 */
export function rememberWireJson(value: ChatCompletionChunk | ChatCompletionResponse, text: string): void {
  const holder: WireHolder = value;
  holder[WIRE_JSON] = { owner: holder, text };
}

/**
 * Internal (for stream parsers): remembers `text` as the wire JSON of `chunk` when the text says exactly what
 * the parsed chunk says (no field the schema had to fill in, no usage moved) and fits on one SSE `data:` line.
 * A `chunk` that is `payload` itself was vouched for by `isCanonicalChunk`, so it needed no defaults. Returns
 * whether it did.
 */
export function rememberChunkWireJson(chunk: ChatCompletionChunk, payload: unknown, text: string): boolean {
  if (text.includes('\n') || text.includes('\r') || (chunk !== payload && !needsNoDefaults(payload))) return false;
  rememberWireJson(chunk, text);
  return true;
}

/**
 * The wire JSON of a streamed chunk or a non-streamed chat completion: the text it was parsed from, when
 * re-serialising it would say the same thing (key order and whitespace aside); otherwise `undefined`. A chunk's wire
 * JSON never holds a line break, so it fits one SSE `data:` line. A server that passes a chunk or an answer on
 * unchanged can write this instead of `JSON.stringify(value)`; a copy, changed or not, has none.
 *
 * @example
 * const response = await provider.chat(request);
 * send(wireJson(response) ?? JSON.stringify(response));
 * for await (const chunk of provider.chatStream(request, { signal })) {
 *   write(`data: ${wireJson(chunk) ?? JSON.stringify(chunk)}\n\n`);
 * }
 */
export function wireJson(value: ChatCompletionChunk | ChatCompletionResponse): string | undefined {
  const holder: WireHolder = value;
  const entry = holder[WIRE_JSON];
  return entry !== undefined && entry.owner === holder ? entry.text : undefined;
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

// Mirrors the defaults and transforms of chatCompletionChunkSchema: choices, choices[].index and
// choices[].delta are filled in when missing, deltas are normalised (`reasoning`, content chunk arrays), and
// usage.total_tokens is computed when missing.
function needsNoDefaults(payload: unknown): boolean {
  if (!isObject(payload)) return false;
  const choices: unknown = Reflect.get(payload, 'choices');
  if (!Array.isArray(choices)) return false;
  const list: unknown[] = choices;
  for (const choice of list) {
    if (!isObject(choice)) return false;
    const delta: unknown = Reflect.get(choice, 'delta');
    if (typeof Reflect.get(choice, 'index') !== 'number' || !isObject(delta)) return false;
    if (needsAssistantNormalising(delta)) return false;
  }
  const usage: unknown = Reflect.get(payload, 'usage');
  return usage == null || (isObject(usage) && Reflect.get(usage, 'total_tokens') != null);
}

// What ends the text of a chunk whose last member is `"usage": null` (OpenAI's shape under include_usage).
const NULL_USAGE_TAIL = ',"usage":null}';

/**
 * Internal (for encoders): the JSON text of `chunk` for one SSE `data:` line: its wire JSON when it has one (no
 * second serialisation), else `JSON.stringify`, which escapes line breaks.
 */
export function chunkJson(chunk: ChatCompletionChunk): string {
  return wireJson(chunk) ?? JSON.stringify(chunk);
}

/**
 * Internal (for encoders): {@link chunkJson} of the chunk without its `usage` member, for a client that did not ask
 * for usage. The chunk is not changed. A wire JSON whose last member is `"usage":null` is cut there: the text was
 * kept only because it says what the parsed chunk says, so without that member it says what the chunk without
 * usage says.
 */
export function chunkJsonWithoutUsage(chunk: ChatCompletionChunk): string {
  if (chunk.usage === undefined) return chunkJson(chunk);
  const wire = wireJson(chunk);
  if (wire !== undefined && chunk.usage === null && wire.endsWith(NULL_USAGE_TAIL)) {
    return `${wire.slice(0, -NULL_USAGE_TAIL.length)}}`;
  }
  const { usage: _usage, ...rest } = chunk;
  return JSON.stringify(rest);
}
