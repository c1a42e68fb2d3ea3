// max_parallel on Redis, as two gateway processes share it: two clients, one prefix of this run's own.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisParallelLimit, type ReleaseSlot } from './parallel-limit.ts';

const REDIS_URL = process.env['REDIS_URL'] ?? '';
const SKIP = REDIS_URL === '' ? 'REDIS_URL is not set (these tests need a real Redis)' : undefined;
if (SKIP !== undefined) console.info(`redis max_parallel skipped: ${SKIP}`);

describe.skipIf(SKIP !== undefined)('createRedisParallelLimit', () => {
  const prefix = `gw-test:parallel:${randomUUID()}:`;
  const clients: Redis[] = [];
  beforeAll(async () => {
    for (let index = 0; index < 2; index += 1) {
      const client = new Redis(REDIS_URL);
      if (client.status !== 'ready') await once(client, 'ready');
      clients.push(client);
    }
  });
  afterAll(async () => {
    const keys = await clients[0]?.keys(`${prefix}*`);
    if (keys !== undefined && keys.length > 0) await clients[0]?.del(...keys);
    await Promise.all(clients.map((client) => client.quit()));
  });

  const limitOn = (index: number) =>
    createRedisParallelLimit({ client: clients[index] as Redis, prefix, slotTtlMs: 60_000 });

  it('holds max slots of a scope across two processes, and a released slot is free again', async () => {
    const [first, second] = [limitOn(0), limitOn(1)];
    const taken = await Promise.all(
      Array.from({ length: 8 }, (_, index) => (index % 2 === 0 ? first : second).acquire('key_shared', 3)),
    );
    const held = taken.filter((release): release is ReleaseSlot => release !== undefined);
    expect(held).toHaveLength(3);
    expect(await second.acquire('key_shared', 3)).toBeUndefined();
    held[0]?.();
    await expect.poll(async () => (await first.acquire('key_shared', 3)) !== undefined).toBe(true);
  });

  it('takes an answer that came while this process was busy past its timeout', async () => {
    const limit = limitOn(0);
    const acquired = limit.acquire('key_busy', 1);
    // Synchronous work longer than the 100 ms timeout (a long task, a GC pause): Redis answers meanwhile, unread.
    const until = performance.now() + 300;
    while (performance.now() < until);
    expect(await acquired).toBeTypeOf('function');
    // And the slot it holds is the one Redis counts.
    expect(await limitOn(1).acquire('key_busy', 1)).toBeUndefined();
  });
});
