import type { RequestProblem } from './stand-in-request.ts';
import { countWords, field, invalidRequest } from './stand-in-request.ts';

const DEFAULT_DIMENSIONS = 16;

// FNV-1a: a stable seed per input, so the same text always gets the same vector.
function hash(text: string): number {
  let value = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    value ^= text.charCodeAt(index);
    value = Math.imul(value, 0x01000193);
  }
  return value >>> 0;
}

// mulberry32: a tiny deterministic PRNG. A unit vector per text, the same for the same text and length.
export function vectorFor(text: string, dimensions: number): Float32Array {
  let seed = hash(text);
  const vector = new Float32Array(dimensions);
  let norm = 0;
  for (let index = 0; index < dimensions; index += 1) {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const value = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
    vector[index] = value;
    norm += value * value;
  }
  const scale = norm === 0 ? 1 : 1 / Math.sqrt(norm);
  for (let index = 0; index < dimensions; index += 1) vector[index] = (vector[index] ?? 0) * scale;
  return vector;
}

function inputTexts(input: unknown): string[] | undefined {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) return undefined;
  // A flat array of numbers is one tokenised input; an array of arrays is several.
  if (input.every((item) => typeof item === 'number')) return [input.join(' ')];
  const texts: string[] = [];
  for (const item of input) {
    if (typeof item === 'string') texts.push(item);
    else if (Array.isArray(item)) texts.push(item.join(' '));
    else return undefined;
  }
  return texts;
}

/** The body of POST /v1/embeddings: deterministic unit vectors, `float` or `base64`. */
export function embeddingsJson(body: unknown): string | RequestProblem {
  const model = field(body, 'model');
  if (typeof model !== 'string' || model === '') return invalidRequest('you must provide a model parameter', null);
  const texts = inputTexts(field(body, 'input'));
  if (texts === undefined) return invalidRequest("'input' : input must be a string or an array of strings", 'input');
  const requested = field(body, 'dimensions');
  const dimensions = typeof requested === 'number' && requested > 0 ? Math.floor(requested) : DEFAULT_DIMENSIONS;
  const base64 = field(body, 'encoding_format') === 'base64';
  let tokens = 0;
  const data = texts.map((text, index) => {
    tokens += Math.max(1, countWords(text));
    const vector = vectorFor(text, dimensions);
    const embedding = base64 ? Buffer.from(vector.buffer).toString('base64') : Array.from(vector);
    return { object: 'embedding', index, embedding };
  });
  return JSON.stringify({ object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
}

/** The body of GET /v1/models. */
export function modelsJson(ids: readonly string[]): string {
  return JSON.stringify({
    object: 'list',
    data: ids.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'stand-in' })),
  });
}
