import { createHash } from 'node:crypto';

/**
 * What a cached answer answers: a chat completion, an Anthropic message (keyed by the Anthropic request, kept as a
 * chat completion), or embeddings.
 */
export type CacheEndpoint = 'chat' | 'messages' | 'embeddings';

// Request fields that change how an answer is delivered or billed, never what it says.
const IGNORED_FIELDS = new Set([
  'model',
  'stream',
  'stream_options',
  'user',
  'metadata',
  'store',
  'service_tier',
  'safety_identifier',
  'prompt_cache_key',
  'prompt_cache_retention',
]);

/** JSON with object keys sorted and `null` / `undefined` members left out, so spelling order does not matter. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item: unknown) => stableJson(item ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members: string[] = [];
    for (const name of Object.keys(value).sort()) {
      const member: unknown = Reflect.get(value, name);
      if (member === null || member === undefined) continue;
      members.push(`${JSON.stringify(name)}:${stableJson(member)}`);
    }
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** What a cache key is made of. */
export interface CacheKeyInput {
  endpoint: CacheEndpoint;
  /** The model as the client named it (the alias, or `provider-id/model`). */
  model: string;
  /** Whose cache: a virtual key's id, or `global`. */
  scope: string;
  /** The canonical request (chat) or the embeddings request. */
  request: object;
}

/**
 * The cache key of a request: SHA-256 (hex) of the endpoint, the model as named, the scope and every request field
 * that can change the answer (messages, tools, tool_choice, temperature, top_p, seed, max_tokens, stop, n,
 * response_format, … and any field the gateway does not know), in a spelling that does not depend on key order or
 * on `null` members. Left out: `model` (the named one counts instead), `stream`, `stream_options`, `user`,
 * `metadata`, `store`, `service_tier`, `safety_identifier`, `prompt_cache_key`, `prompt_cache_retention`.
 *
 * @example
 * cacheKey({ endpoint: 'chat', model: 'chat', scope: 'key_1', request }); // '3f2a…'
 */
export function cacheKey(input: CacheKeyInput): string {
  const fields: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(input.request)) if (!IGNORED_FIELDS.has(name)) fields[name] = value;
  const text = stableJson({ v: 1, endpoint: input.endpoint, model: input.model, scope: input.scope, request: fields });
  return createHash('sha256').update(text).digest('hex');
}

/** The sampling parameters of a chat request. */
export interface SamplingParameters {
  temperature?: number | null | undefined;
  top_p?: number | null | undefined;
  n?: number | null | undefined;
}

/**
 * True when the answer was drawn at random: `temperature` above 0 or unset (every vendor's default is above 0),
 * `top_p` below 1, or more than one choice (`n` > 1). Such answers are not cached unless `cache.cacheSampled`.
 *
 * @example
 * isSampled({ temperature: 0 }); // false
 * isSampled({}); // true
 */
export function isSampled(parameters: SamplingParameters): boolean {
  const { temperature, top_p: topP, n } = parameters;
  if (temperature == null || temperature > 0) return true;
  if (topP != null && topP < 1) return true;
  return n != null && n > 1;
}
