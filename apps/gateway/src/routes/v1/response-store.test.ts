// The in-memory ResponseStore: bounded in entries and bytes, so a long-running gateway does not grow without end.
import { responsesRequestSchema, toResponsesResponse } from '@gw/providers/formats';
import { describe, expect, it } from 'vitest';
import { createMemoryResponseStore, type StoredResponse } from './response-store.ts';

function record(id: string, text = 'Hi'): StoredResponse {
  const request = responsesRequestSchema.parse({ model: 'chat', input: 'Hello' });
  const response = toResponsesResponse(
    { choices: [{ index: 0, finish_reason: 'stop', message: { content: text } }] },
    { id, model: 'chat', createdAt: 1, request },
  );
  return {
    response,
    messages: [
      { role: 'user', content: 'Hello' },
      { role: 'assistant', content: text },
    ],
  };
}

describe('createMemoryResponseStore', () => {
  it('gives back what was put, and nothing for an id never put', async () => {
    const store = createMemoryResponseStore();
    const stored = record('resp_a');
    await store.put(stored);
    expect(await store.get('resp_a')).toEqual(stored);
    expect(await store.get('resp_b')).toBeUndefined();
  });

  it('keeps at most maxEntries, forgetting the least recently used', async () => {
    const store = createMemoryResponseStore({ maxEntries: 2 });
    await store.put(record('resp_1'));
    await store.put(record('resp_2'));
    await store.get('resp_1');
    await store.put(record('resp_3'));
    expect(await store.get('resp_2')).toBeUndefined();
    expect(await store.get('resp_1')).toBeDefined();
    expect(await store.get('resp_3')).toBeDefined();
  });

  it('keeps at most maxBytes: a record larger than that is not kept, smaller ones push old ones out', async () => {
    const small = JSON.stringify(record('resp_s1')).length;
    const store = createMemoryResponseStore({ maxBytes: small * 2 + 10 });
    await store.put(record('resp_big', 'x'.repeat(small * 3)));
    expect(await store.get('resp_big')).toBeUndefined();
    await store.put(record('resp_s1'));
    await store.put(record('resp_s2'));
    await store.put(record('resp_s3'));
    expect(await store.get('resp_s1')).toBeUndefined();
    expect(await store.get('resp_s3')).toBeDefined();
  });

  it('forgets a record retentionMs after it was put (responses.retentionDays without a database)', async () => {
    let now = 1_000;
    const store = createMemoryResponseStore({ retentionMs: 30 * 86_400_000, now: () => now });
    await store.put(record('resp_old'));
    now += 20 * 86_400_000;
    await store.put(record('resp_new'));
    now += 11 * 86_400_000;
    expect(await store.get('resp_old')).toBeUndefined();
    expect(await store.get('resp_new')).toBeDefined();
  });

  it('refuses to work for a caller that has already gone', async () => {
    const store = createMemoryResponseStore();
    const gone = AbortSignal.abort(new Error('client left'));
    await expect(store.put(record('resp_a'), gone)).rejects.toThrow('client left');
    await expect(store.get('resp_a', gone)).rejects.toThrow('client left');
    expect(await store.get('resp_a')).toBeUndefined();
  });
});
