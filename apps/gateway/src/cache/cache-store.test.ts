// One suite for both stores: what a caller of the cache sees must not depend on where entries live.
import { randomUUID } from 'node:crypto';
import { waitFor } from '@gw/test-kit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryCacheStore, createRedisCacheStore, type CacheStore } from './cache-store.ts';

const REDIS_URL = process.env['REDIS_URL'] ?? '';
const PREFIX = `gw-test-cache-store-${randomUUID().slice(0, 8)}:`;
const clients: Redis[] = [];

afterAll(async () => {
  const [client] = clients;
  if (client !== undefined) {
    const keys = await client.keys(`${PREFIX}*`);
    if (keys.length > 0) await client.del(...keys);
  }
  for (const each of clients) each.disconnect();
});

const stores: Array<{ name: string; skip: boolean; create: () => CacheStore }> = [
  { name: 'memory', skip: false, create: () => createMemoryCacheStore({ maxBytes: 1024 * 1024 }) },
  {
    name: 'redis',
    skip: REDIS_URL === '',
    create: () => {
      const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      clients.push(client);
      return createRedisCacheStore({ client, prefix: PREFIX, timeoutMs: 2000 });
    },
  },
];

for (const { name, skip, create } of stores) {
  describe.skipIf(skip)(`the ${name} cache store`, () => {
    it('gives back what was stored, and nothing for a key never stored', async () => {
      const store = create();
      const key = randomUUID();
      expect(await store.get(key)).toBeUndefined();
      await store.set(key, '{"answer":"é"}', 60_000);
      expect(await store.get(key)).toBe('{"answer":"é"}');
      await store.set(key, '{"answer":2}', 60_000);
      expect(await store.get(key)).toBe('{"answer":2}');
    });

    it('forgets an entry once its TTL has passed, and keeps the others', async () => {
      const store = create();
      const [short, long] = [randomUUID(), randomUUID()];
      await store.set(short, 'short', 150);
      await store.set(long, 'long', 60_000);
      expect(await store.get(short)).toBe('short');
      await waitFor(async () => (await store.get(short)) === undefined, 5000);
      expect(await store.get(long)).toBe('long');
    });
  });
}

describe('the memory cache store', () => {
  it('stays within maxBytes, dropping the least recently used entries first', async () => {
    const store = createMemoryCacheStore({ maxBytes: 300 });
    const value = 'x'.repeat(90);
    for (const key of ['a', 'b', 'c']) await store.set(key, value, 60_000);
    // Read `a`: `b` is now the least recently used, and goes when `d` arrives.
    expect(await store.get('a')).toBe(value);
    await store.set('d', value, 60_000);
    expect(await store.get('b')).toBeUndefined();
    expect(await Promise.all(['a', 'c', 'd'].map((key) => store.get(key)))).toEqual([value, value, value]);
    // Counted in UTF-8 bytes: 100 three-byte characters do not fit in 300 bytes with their key.
    await store.set('wide', '€'.repeat(100), 60_000);
    expect(await store.get('wide')).toBeUndefined();
  });
});

describe.skipIf(REDIS_URL === '')('the redis cache store', () => {
  it('answers a miss while Redis cannot be reached, and reports the outage once', async () => {
    const client = new Redis('redis://127.0.0.1:1', {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => 50,
    });
    client.on('error', () => undefined);
    clients.push(client);
    const outages: boolean[] = [];
    const store = createRedisCacheStore({
      client,
      prefix: PREFIX,
      timeoutMs: 50,
      onOutage: (down) => outages.push(down),
    });
    await store.set('k', 'v', 60_000);
    expect(await store.get('k')).toBeUndefined();
    expect(await store.get('k')).toBeUndefined();
    expect(outages).toEqual([true]);
  });
});
