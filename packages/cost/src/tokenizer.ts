import { Tiktoken, type TiktokenBPE } from 'js-tiktoken/lite';
import { type ChatCountRequest, countChatWith } from './chat-token-count.ts';

/** The OpenAI encodings `@gw/cost` counts with. */
export type EncodingName = 'o200k_base' | 'cl100k_base';

/** Counts tokens of one encoding. Loaded with {@link loadTokenizer}; every method is synchronous. */
export interface Tokenizer {
  readonly encoding: EncodingName;
  /** Tokens of plain text. Special-token text such as `<|endoftext|>` counts as ordinary text, as the API does. */
  countText(text: string): number;
  /** Prompt tokens of a chat request in OpenAI's format (per-message overhead, names, tools, images). */
  countChat(request: ChatCountRequest): number;
}

// The rank files are megabytes (o200k_base is 2.3 MB of JS); they load on the first count, never on import.
const RANKS: Readonly<Record<EncodingName, () => Promise<TiktokenBPE>>> = {
  o200k_base: async () => (await import('js-tiktoken/ranks/o200k_base')).default,
  cl100k_base: async () => (await import('js-tiktoken/ranks/cl100k_base')).default,
};

const loading = new Map<EncodingName, Promise<Tokenizer>>();
const loaded = new Map<EncodingName, Tokenizer>();

// gpt-4 / gpt-3.5 and the text-embedding-3 / ada models use cl100k_base; everything from gpt-4o on (4o, 4.1, 4.5,
// 5.x, the o-series, gpt-oss) uses o200k_base, and so do models we do not know (the newest are the likeliest).
const CL100K = /^(?:gpt-4(?!o|\.)|gpt-35|gpt-3\.5|text-embedding-3|text-embedding-ada)/;

/**
 * The encoding an OpenAI model counts with: `cl100k_base` for gpt-4, gpt-3.5 and the text-embedding-3 / ada-002
 * models, `o200k_base` for gpt-4o, gpt-4.1, gpt-5, the o-series and anything newer or unknown.
 *
 * @example
 * ```ts
 * encodingForModel('gpt-4o-mini-2024-07-18'); // 'o200k_base'
 * encodingForModel('text-embedding-3-small'); // 'cl100k_base'
 * ```
 */
export function encodingForModel(model: string): EncodingName {
  const id = model.toLowerCase().replace(/^(?:openai|azure)\//, '');
  return CL100K.test(id) ? 'cl100k_base' : 'o200k_base';
}

// js-tiktoken encodes about 2 MB of text per second here (3 ms for a 1,700-token request, see README), and a chat
// request re-sends its whole history every turn. Counts of longer texts are therefore remembered: a system prompt
// or an earlier turn is counted once per process, not once per request. Bounded by characters held, oldest out.
const CACHE_MIN_LENGTH = 64;
const CACHE_MAX_CHARACTERS = 4_000_000;

function createCountCache(count: (text: string) => number): (text: string) => number {
  const counts = new Map<string, number>();
  let characters = 0;
  return (text) => {
    if (text.length < CACHE_MIN_LENGTH) return count(text);
    const known = counts.get(text);
    if (known !== undefined) {
      // Map keeps insertion order: move the entry to the young end.
      counts.delete(text);
      counts.set(text, known);
      return known;
    }
    const tokens = count(text);
    if (text.length > CACHE_MAX_CHARACTERS) return tokens;
    counts.set(text, tokens);
    characters += text.length;
    for (const oldest of counts.keys()) {
      if (characters <= CACHE_MAX_CHARACTERS) break;
      counts.delete(oldest);
      characters -= oldest.length;
    }
    return tokens;
  };
}

function createTokenizer(encoding: EncodingName, ranks: TiktokenBPE): Tokenizer {
  const tiktoken = new Tiktoken(ranks);
  // disallowedSpecial = []: user text that contains "<|endoftext|>" is text, not an error.
  const countText = createCountCache((text) => (text.length === 0 ? 0 : tiktoken.encode(text, [], []).length));
  return {
    encoding,
    countText,
    countChat: (request) => countChatWith(countText, request),
  };
}

/**
 * Loads an encoding (the first call imports its rank file, later calls share it) and resolves with its
 * {@link Tokenizer}. An aborted `signal` rejects the wait with its reason; the load itself finishes and is kept.
 *
 * @example
 * ```ts
 * const tokenizer = await loadTokenizer(encodingForModel('gpt-4o'));
 * tokenizer.countText('Hello, world'); // 3
 * ```
 */
export function loadTokenizer(
  encoding: EncodingName,
  options?: { signal?: AbortSignal | undefined },
): Promise<Tokenizer> {
  const signal = options?.signal;
  if (signal?.aborted === true) return Promise.reject(signal.reason);
  let promise = loading.get(encoding);
  if (promise === undefined) {
    promise = RANKS[encoding]().then((ranks) => {
      const tokenizer = createTokenizer(encoding, ranks);
      loaded.set(encoding, tokenizer);
      return tokenizer;
    });
    // A failed import may succeed later (a transient file-system error): do not cache the failure.
    promise.catch(() => loading.delete(encoding));
    loading.set(encoding, promise);
  }
  if (signal === undefined) return promise;
  return new Promise<Tokenizer>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * The tokenizer of an encoding if it is already loaded, else undefined: the synchronous path for the request hot
 * path (count with it when there, fall back to an estimate or `await loadTokenizer` when not).
 *
 * @example
 * ```ts
 * const tokenizer = getLoadedTokenizer('o200k_base');
 * const promptTokens = tokenizer ? tokenizer.countChat(request) : estimateChatTokens(request);
 * ```
 */
export function getLoadedTokenizer(encoding: EncodingName): Tokenizer | undefined {
  return loaded.get(encoding);
}

/**
 * Prompt tokens of a chat request for an OpenAI model, in OpenAI's chat format: loads the model's encoding on
 * first use. Exact for text; tools and images are estimates (see README).
 *
 * @example
 * ```ts
 * await countChatTokens({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello' }] }); // 8
 * ```
 */
export async function countChatTokens(
  request: ChatCountRequest & { model: string },
  options?: { signal?: AbortSignal | undefined },
): Promise<number> {
  const tokenizer = await loadTokenizer(encodingForModel(request.model), options);
  return tokenizer.countChat(request);
}
