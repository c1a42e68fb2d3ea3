import { describe, expect, it } from 'vitest';
import { cacheKey, isSampled } from './cache-key.ts';

const base = { endpoint: 'chat', model: 'chat', scope: 'key:vk_1' } as const;
const request = { model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: 'Hi' }] };

describe('cacheKey', () => {
  it('is a SHA-256 that ignores key order, null members and fields that do not change the answer', () => {
    const key = cacheKey({ ...base, request });
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    const respelt = {
      messages: [{ content: 'Hi', role: 'user', name: null }],
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
      user: 'u',
      model: 'another-upstream-name',
    };
    expect(cacheKey({ ...base, request: respelt })).toBe(key);
  });

  it('changes with the model as named, the scope, the endpoint and every answer-changing field', () => {
    const key = cacheKey({ ...base, request });
    const others = [
      cacheKey({ ...base, model: 'other', request }),
      cacheKey({ ...base, scope: 'key:vk_2', request }),
      cacheKey({ ...base, scope: 'global', request }),
      cacheKey({ ...base, endpoint: 'messages', request }),
      ...[
        { temperature: 0.1 },
        { top_p: 0.9 },
        { seed: 1 },
        { max_tokens: 5 },
        { stop: 'x' },
        { n: 2 },
        { tool_choice: 'none' },
        { response_format: { type: 'json_object' } },
        { messages: [{ role: 'user', content: 'Hi!' }] },
        { some_vendor_field: true },
      ].map((change) => cacheKey({ ...base, request: { ...request, ...change } })),
    ];
    expect(new Set([key, ...others]).size).toBe(others.length + 1);
  });
});

describe('isSampled', () => {
  it.each([
    [{}, true],
    [{ temperature: null }, true],
    [{ temperature: 0.2 }, true],
    [{ temperature: 0 }, false],
    [{ temperature: 0, top_p: 1 }, false],
    [{ temperature: 0, top_p: 0.9 }, true],
    [{ temperature: 0, n: 1 }, false],
    [{ temperature: 0, n: 3 }, true],
  ])('%j → %s', (parameters, sampled) => {
    expect(isSampled(parameters)).toBe(sampled);
  });
});
