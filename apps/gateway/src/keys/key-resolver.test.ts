// The key cache's promise, "a change takes effect within a second everywhere", at its edges: a change heard while a
// lookup runs, and a change bus that goes away. The store is the real one (SQLite); the bus is the resolver's own
// small interface, driven by hand (the Redis one is tested through two gateway processes in multi-process.test.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { openLedgerDatabase, type LedgerDatabase } from '../ledger/ledger-database.ts';
import { gatewayMigrations } from '../storage/migrations.ts';
import { createKeyResolver, type KeyChangeBus } from './key-resolver.ts';
import { createKeyStore, type KeySettings, type KeyStore } from './key-store.ts';

const SETTINGS: KeySettings = {
  name: 'cached',
  models: null,
  rpm: null,
  tpm: null,
  maxParallel: null,
  modelLimits: null,
  budget: null,
  expiresAt: null,
  metadata: null,
};

/** Pub/sub between resolvers of one test, with the subscription's loss and return in the test's hands. */
function handBus(): KeyChangeBus & { lose(): void; regain(): void } {
  const subscribers: Array<{ onMessage: (message: string) => void; onListening?: (listening: boolean) => void }> = [];
  let up = true;
  return {
    publish: async (_channel, message) => {
      if (!up) throw new Error('the bus is down');
      for (const subscriber of subscribers) subscriber.onMessage(message);
    },
    subscribe: async (_channel, onMessage, onListening) => {
      subscribers.push(onListening === undefined ? { onMessage } : { onMessage, onListening });
    },
    lose: () => {
      up = false;
      for (const subscriber of subscribers) subscriber.onListening?.(false);
    },
    regain: () => {
      up = true;
      for (const subscriber of subscribers) subscriber.onListening?.(true);
    },
  };
}

let database: LedgerDatabase | undefined;
afterEach(async () => {
  await database?.close();
  database = undefined;
});

/** Lets the resolvers' subscriptions complete. */
function subscribed(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

async function openStore(): Promise<KeyStore> {
  database = await openLedgerDatabase('sqlite::memory:', { migrations: gatewayMigrations });
  return createKeyStore(database);
}

describe('createKeyResolver', () => {
  it('answers a cached key at once and asks the database once per secret', async () => {
    const store = await openStore();
    const { key, secret } = await store.create(SETTINGS);
    let reads = 0;
    const resolver = createKeyResolver({
      store: { ...store, findBySecret: (presented) => ((reads += 1), store.findBySecret(presented)) },
    });

    // The first requests wait for one database read between them.
    const first = resolver.resolve(secret);
    const second = resolver.resolve(secret);
    expect(first).toBeInstanceOf(Promise);
    expect((await first)?.id).toBe(key.id);
    expect((await second)?.id).toBe(key.id);
    // Then the key is in memory: no promise to wait for, no read.
    const cached = resolver.resolve(secret);
    expect(cached).not.toBeInstanceOf(Promise);
    expect((cached as Awaited<typeof cached>)?.id).toBe(key.id);
    // An unknown secret is remembered as unknown, at once too.
    expect(await resolver.resolve('sk-gw-unknown')).toBeUndefined();
    expect(resolver.resolve('sk-gw-unknown')).toBeUndefined();
    expect(reads).toBe(2);
  });

  it('does not keep a key it read while a change of it was announced', async () => {
    const store = await openStore();
    const bus = handBus();
    const { key, secret } = await store.create(SETTINGS);
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    let reads = 0;
    // This process reads the key, and its answer is slow to come back.
    const reader = createKeyResolver({
      store: {
        ...store,
        findBySecret: async (presented) => {
          reads += 1;
          const found = await store.findBySecret(presented);
          if (reads === 1) await gate;
          return found;
        },
      },
      bus,
    });
    const writer = createKeyResolver({ store, bus });
    await subscribed();

    const slow = reader.resolve(secret);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Another process revokes it meanwhile.
    await store.revoke(key.id);
    await writer.changed(key.id);
    open();
    expect((await slow)?.revokedAt).toBeNull();
    // The next request reads again instead of the old answer for the next 30 s.
    expect((await reader.resolve(secret))?.revokedAt).toBeInstanceOf(Date);
  });

  it('forgets every key when change messages stop arriving, and reads them again', async () => {
    const store = await openStore();
    const bus = handBus();
    const { key, secret } = await store.create(SETTINGS);
    const resolver = createKeyResolver({ store, bus });
    const writer = createKeyResolver({ store, bus });
    await subscribed();
    expect((await resolver.resolve(secret))?.revokedAt).toBeNull();

    // The subscription is lost (Redis down): a revocation elsewhere cannot be announced.
    bus.lose();
    await store.revoke(key.id);
    expect((await resolver.resolve(secret))?.revokedAt).toBeInstanceOf(Date);

    // While it is down, what is read is kept for a second at most.
    const other = await store.create({ ...SETTINGS, name: 'other' });
    expect((await resolver.resolve(other.secret))?.models).toBeNull();
    await store.update(other.key.id, { models: ['chat'] });
    await expect
      .poll(async () => (await resolver.resolve(other.secret))?.models, { timeout: 1500, interval: 50 })
      .toEqual(['chat']);

    // Back: what it reads is kept again, and announcements from elsewhere reach it.
    bus.regain();
    expect((await resolver.resolve(other.secret))?.models).toEqual(['chat']);
    await store.update(other.key.id, { models: ['other'] });
    await writer.changed(other.key.id);
    expect((await resolver.resolve(other.secret))?.models).toEqual(['other']);
  });
});
