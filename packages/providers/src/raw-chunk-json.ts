import { needsAssistantNormalising } from './chat-api.ts';
import type { ChatCompletionChunk, ChatCompletionResponse } from './chat-api.ts';

// Kept on the chunk (or response) itself (a WeakMap entry per chunk cost more than the JSON.stringify it saves). A symbol key,
// so JSON.stringify and zod never see it; the entry names its owner, so a spread copy of a chunk (which copies
// own symbol keys) does not pass for the original.
const RAW_JSON = Symbol('gw.rawChunkJson');

interface RawEntry {
  owner: object;
  text: string;
}

/**
 * A chunk or a response as the entry's holder. The symbol key is written and read directly: `Reflect.set` cost
 * several times more per chunk. The `id` member (every chunk and response has one) keeps this from being a weak
 * type, which TypeScript would not let a chunk be assigned to.
 */
interface RawHolder {
  id?: unknown;
  [RAW_JSON]?: RawEntry;
}

/**
 * Internal (for adapters): remembers `text` as the wire form of `value`, unchecked: the caller vouches that the value
 * is what the text says, unchanged (see `isCanonicalResponse`), and, for a chunk, that the text holds no line break.
 */
export function rememberWireJson(value: ChatCompletionChunk | ChatCompletionResponse, text: string): void {
  const holder: RawHolder = value;
  holder[RAW_JSON] = { owner: holder, text };
}

/**
 * Internal (for stream parsers): remembers `text` as the wire form of `chunk` when the text says exactly what
 * the parsed chunk says (no field the schema had to fill in, no usage moved) and fits on one SSE `data:` line.
 * A `chunk` that is `payload` itself was vouched for by `isCanonicalChunk`, so it needed no defaults. Returns
 * whether it did.
 */
export function rememberRawChunkJson(chunk: ChatCompletionChunk, payload: unknown, text: string): boolean {
  if (text.includes('\n') || text.includes('\r') || (chunk !== payload && !needsNoDefaults(payload))) return false;
  rememberWireJson(chunk, text);
  return true;
}

/**
 * The JSON text a non-streamed chat completion was read from, when re-serialising it would say the same thing (key
 * order and whitespace aside); otherwise `undefined`. A server that answers with the response unchanged can send
 * this instead of `JSON.stringify(response)`.
 *
 * @example
 * const response = await provider.chat(request);
 * send(rawResponseJson(response) ?? JSON.stringify(response));
 */
export function rawResponseJson(response: ChatCompletionResponse): string | undefined {
  return rawJsonOf(response);
}

/**
 * The JSON text a streamed chunk was parsed from, when re-serialising the chunk would say the same thing
 * (key order and whitespace aside) and the text holds no line break; otherwise `undefined`. A relay that passes
 * a chunk on unchanged can write this instead of `JSON.stringify(chunk)`; once it changes the chunk, the text
 * no longer describes it.
 *
 * @example
 * for await (const chunk of provider.chatStream(request, { signal })) {
 *   write(`data: ${rawChunkJson(chunk) ?? JSON.stringify(chunk)}\n\n`);
 * }
 */
export function rawChunkJson(chunk: ChatCompletionChunk): string | undefined {
  return rawJsonOf(chunk);
}

// Only this module writes the key, so what is there is an entry; a spread copy carries the original's.
function rawJsonOf(holder: RawHolder): string | undefined {
  const entry = holder[RAW_JSON];
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
 * Internal (for encoders): the JSON text of `chunk` for one SSE `data:` line: its wire text when it has one (no
 * second serialisation), else `JSON.stringify`, which escapes line breaks.
 */
export function chunkJson(chunk: ChatCompletionChunk): string {
  return rawJsonOf(chunk) ?? JSON.stringify(chunk);
}

/**
 * Internal (for encoders): {@link chunkJson} of the chunk without its `usage` member, for a client that did not ask
 * for usage. The chunk is not changed. A wire text whose last member is `"usage":null` is cut there: the text was
 * kept only because it says what the parsed chunk says, so without that member it says what the chunk without
 * usage says.
 */
export function chunkJsonWithoutUsage(chunk: ChatCompletionChunk): string {
  if (chunk.usage === undefined) return chunkJson(chunk);
  const raw = rawJsonOf(chunk);
  if (raw !== undefined && chunk.usage === null && raw.endsWith(NULL_USAGE_TAIL)) {
    return `${raw.slice(0, -NULL_USAGE_TAIL.length)}}`;
  }
  const { usage: _usage, ...rest } = chunk;
  return JSON.stringify(rest);
}
