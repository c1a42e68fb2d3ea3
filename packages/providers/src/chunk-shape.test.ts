import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { chatCompletionChunkSchema, chatCompletionResponseSchema } from './chat-api.ts';
import { isCanonicalChunk, isCanonicalResponse } from './chunk-shape.ts';
import { readFixture } from './__fixtures__/read-fixture.ts';

const FIXTURES = [
  'openai-text.chunks.txt',
  'openai-tool-call.chunks.txt',
  'deepseek-reasoning.chunks.txt',
  'dashscope-text.chunks.txt',
];

function fixtureChunks(): unknown[] {
  return FIXTURES.flatMap((name) =>
    readFixture(name)
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line): unknown => JSON.parse(line)),
  );
}

const USAGE = {
  prompt_tokens: 9,
  completion_tokens: 3,
  total_tokens: 12,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: null },
  completion_tokens_details: {
    reasoning_tokens: 1,
    audio_tokens: 0,
    accepted_prediction_tokens: 0,
    rejected_prediction_tokens: 0,
  },
};

// Every value a mutation may put in place of a field: the wrong types, absence, and the empty containers.
const REPLACEMENTS: unknown[] = [undefined, null, 0, 1.5, '', 'x', true, [], {}, [{}], { index: 0 }];

/** Every copy of `value` with one field (at any depth) deleted or replaced by one of REPLACEMENTS. */
function* mutations(value: unknown): Generator<unknown> {
  if (typeof value !== 'object' || value === null) return;
  const keys = Array.isArray(value) ? value.map((_, index) => String(index)) : Object.keys(value);
  for (const key of keys) {
    const original: unknown = Reflect.get(value, key);
    for (const replacement of REPLACEMENTS) {
      const copy: unknown = structuredClone(value);
      if (replacement === undefined && !Array.isArray(copy)) Reflect.deleteProperty(Object(copy), key);
      else Reflect.set(Object(copy), key, replacement);
      yield copy;
    }
    for (const inner of mutations(original)) {
      const copy: unknown = structuredClone(value);
      Reflect.set(Object(copy), key, inner);
      yield copy;
    }
  }
}

/**
 * Runs `guard` on every one-field mutation of `seeds`; each payload it accepts must parse with `schema` to an equal
 * value. Returns how many it accepted and rejected.
 */
function checkMutationsAgainstZod(
  seeds: unknown[],
  guard: (payload: unknown) => boolean,
  schema: z.ZodType,
): { accepted: number; rejected: number } {
  let accepted = 0;
  let rejected = 0;
  for (const seed of seeds) {
    for (const candidate of mutations(seed)) {
      if (!guard(candidate)) {
        rejected += 1;
        continue;
      }
      accepted += 1;
      const parsed = schema.safeParse(candidate);
      expect(parsed.success, JSON.stringify(candidate)).toBe(true);
      expect(parsed.data).toEqual(candidate);
    }
  }
  return { accepted, rejected };
}

describe('isCanonicalChunk', () => {
  it('accepts the recorded chunks of real streams, usage chunk included', () => {
    const chunks = [
      ...fixtureChunks(),
      { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: USAGE },
    ];
    for (const chunk of chunks) expect(isCanonicalChunk(chunk), JSON.stringify(chunk)).toBe(true);
  });

  it('never vouches for a payload that zod would reject or change: checked on every one-field mutation', () => {
    const seeds = [
      ...fixtureChunks().slice(0, 4),
      { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: USAGE },
    ];
    const { accepted, rejected } = checkMutationsAgainstZod(seeds, isCanonicalChunk, chatCompletionChunkSchema);
    // Both sides of the check were exercised, many times over.
    expect(accepted).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(100);
  });

  it('leaves to zod what needs a default or a computed field', () => {
    expect(isCanonicalChunk({ id: 'c', choices: [{ delta: { content: 'no index' } }] })).toBe(false);
    expect(isCanonicalChunk({ id: 'c', choices: [{ index: 0 }] })).toBe(false);
    expect(isCanonicalChunk({ id: 'c' })).toBe(false);
    expect(isCanonicalChunk({ id: 'c', choices: [], usage: { prompt_tokens: 1, completion_tokens: 2 } })).toBe(false);
    expect(isCanonicalChunk([])).toBe(false);
    expect(isCanonicalChunk({ id: 'c', choices: [{ index: 0, delta: { reasoning: 'vLLM style' } }] })).toBe(false);
    expect(
      isCanonicalChunk({ id: 'c', choices: [{ index: 0, delta: { content: [{ type: 'text', text: 'Mistral' }] } }] }),
    ).toBe(false);
  });
});

const RESPONSE_FIXTURES = [
  'openai-text.json',
  'openai-tool-call.json',
  'deepseek-text.json',
  'dashscope-text.json',
  'zhipu-text.json',
];

function fixtureResponses(): unknown[] {
  return RESPONSE_FIXTURES.map((name): unknown => JSON.parse(readFixture(name)));
}

describe('isCanonicalResponse', () => {
  it('accepts the recorded answers of real servers, tool calls included', () => {
    for (const response of fixtureResponses())
      expect(isCanonicalResponse(response), JSON.stringify(response)).toBe(true);
  });

  it('never vouches for a payload that zod would reject or change: checked on every one-field mutation', () => {
    const { accepted, rejected } = checkMutationsAgainstZod(
      fixtureResponses().slice(0, 3),
      isCanonicalResponse,
      chatCompletionResponseSchema,
    );
    expect(accepted).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(100);
  });

  it('leaves to zod what needs a default, a computed field or a rewrite', () => {
    const message = { role: 'assistant', content: 'Hi' };
    expect(isCanonicalResponse({ id: 'r', choices: [{ message }] })).toBe(false);
    expect(isCanonicalResponse({ id: 'r', choices: [{ index: 0 }] })).toBe(false);
    expect(
      isCanonicalResponse({
        id: 'r',
        choices: [{ index: 0, message }],
        usage: { prompt_tokens: 1, completion_tokens: 2 },
      }),
    ).toBe(false);
    expect(isCanonicalResponse({ id: 'r', choices: [{ index: 0, message: { reasoning: 'vLLM style' } }] })).toBe(false);
    expect(
      isCanonicalResponse({
        id: 'r',
        choices: [{ index: 0, message: { content: [{ type: 'text', text: 'Mistral' }] } }],
      }),
    ).toBe(false);
    expect(
      isCanonicalResponse({ id: 'r', choices: [{ index: 0, message: { tool_calls: [{ type: 'function' }] } }] }),
    ).toBe(false);
    expect(isCanonicalResponse({ id: 'r', choices: [{ index: 0, message }] })).toBe(true);
  });
});
