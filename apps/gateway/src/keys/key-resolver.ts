import { LRUCache } from 'lru-cache';
import type { KeyStore, VirtualKey } from './key-store.ts';

/** What a resolver publishes and listens to on Redis when a key changes: the key's id. */
export const KEY_CHANGES_CHANNEL = 'gw:keys:changed';

/** The Redis commands the resolver uses (ioredis). */
export interface KeyChangeBus {
  publish(channel: string, message: string): Promise<unknown>;
  /**
   * Calls `onMessage` with every message of `channel`; resolves once subscribed. `onListening(false)` says the
   * subscription was lost (its connection closed: messages are missed from then on), `onListening(true)` that it is
   * back.
   */
  subscribe(
    channel: string,
    onMessage: (message: string) => void,
    onListening?: (listening: boolean) => void,
  ): Promise<void>;
}

/** Finds the virtual key of a presented secret, fast, and forgets a changed key everywhere within a second. */
export interface KeyResolver {
  /**
   * The key of `secret`, or `undefined` for no key (unknown, or never issued): at once when the cache knows the
   * secret, else a promise of the database's answer.
   */
  resolve(secret: string): VirtualKey | undefined | Promise<VirtualKey | undefined>;
  /** A key changed or was revoked: forget it here and (with Redis) in every other process. */
  changed(id: string): Promise<void>;
}

/** Options of {@link createKeyResolver}. */
export interface KeyResolverOptions {
  store: KeyStore;
  /** With Redis: changes reach every process through pub/sub, and entries can live longer. */
  bus?: KeyChangeBus | undefined;
  /** Keys kept in memory. Default 10,000. */
  maxEntries?: number | undefined;
  onError?: ((error: unknown) => void) | undefined;
}

// Without Redis (or while its subscription is down), a change made by another process is seen when the entry
// expires: half a second, so that with the lookup that follows it stays within the second promised.
const TTL_WITHOUT_BUS_MS = 500;
// With Redis the change is pushed; the TTL only bounds a message that is lost in a way nobody notices.
const TTL_WITH_BUS_MS = 30_000;
// Unknown secrets are remembered briefly, so a client retrying a wrong key does not query the database each time.
const TTL_UNKNOWN_MS = 1000;

/**
 * A cache in front of the key store: a presented secret is looked up in memory first, then (hashed) in the
 * database. A revocation or change takes effect within a second on every process: through Redis pub/sub when Redis
 * is configured and subscribed, else because entries expire after a second.
 *
 * @example
 * const resolver = createKeyResolver({ store: createKeyStore(database) });
 * const key = await resolver.resolve(presented);
 */
export function createKeyResolver(options: KeyResolverOptions): KeyResolver {
  const { store, bus } = options;
  // Entries live long only while change messages are sure to arrive: from the subscription's confirmation until it
  // is lost.
  let listening = false;
  // Counts the changes heard (and subscriptions lost): a lookup that ran across one may hold what it changed.
  let changes = 0;
  // Entries are found by the presented secret itself, so a request that hits the cache hashes nothing; only a lookup
  // in the database hashes it (the database holds hashes alone). The secret each cached key was found by is kept
  // by id, so a change by id can find its entry (as long as the entry lives). Both stay in this process's memory.
  const secretById = new Map<string, string>();
  const cache = new LRUCache<string, { key: VirtualKey | undefined }>({
    max: options.maxEntries ?? 10_000,
    ttl: TTL_WITHOUT_BUS_MS,
    // The clock is read on each lookup: lru-cache's default (1 ms) keeps a read time by arming a timer, which under
    // steady traffic meant a new timer for nearly every request.
    ttlResolution: 0,
    dispose: (entry, secret) => {
      if (entry.key !== undefined && secretById.get(entry.key.id) === secret) secretById.delete(entry.key.id);
    },
  });
  const pending = new Map<string, Promise<VirtualKey | undefined>>();

  const forget = (id: string): void => {
    changes += 1;
    // A lookup in flight may have read the key before this change: later requests start their own.
    pending.clear();
    const secret = secretById.get(id);
    if (secret !== undefined) cache.delete(secret);
    secretById.delete(id);
  };

  const lookup = (secret: string): Promise<VirtualKey | undefined> => {
    const seen = changes;
    const found = store.findBySecret(secret).then((key) => {
      if (key === undefined) {
        cache.set(secret, { key: undefined }, { ttl: TTL_UNKNOWN_MS });
        return key;
      }
      // A change heard while reading may be this key's: the answer stands for the requests that waited for it, but
      // the next one reads again.
      if (changes !== seen) return key;
      cache.set(secret, { key }, { ttl: listening ? TTL_WITH_BUS_MS : TTL_WITHOUT_BUS_MS });
      secretById.set(key.id, secret);
      return key;
    });
    const settled = found.finally(() => {
      if (pending.get(secret) === settled) pending.delete(secret);
    });
    pending.set(secret, settled);
    return settled;
  };

  if (bus !== undefined) {
    const onListening = (now: boolean): void => {
      if (!now && listening) {
        // Changes made from now on are not heard: what is cached may go stale, so it goes.
        changes += 1;
        pending.clear();
        cache.clear();
      }
      listening = now;
    };
    bus.subscribe(KEY_CHANGES_CHANNEL, forget, onListening).then(
      () => onListening(true),
      (error: unknown) => options.onError?.(error),
    );
  }

  return {
    resolve(secret) {
      const cached = cache.get(secret);
      if (cached !== undefined) return cached.key;
      // One database query per secret at a time, however many requests bring it at once.
      return pending.get(secret) ?? lookup(secret);
    },
    async changed(id) {
      forget(id);
      await bus?.publish(KEY_CHANGES_CHANNEL, id).catch((error: unknown) => options.onError?.(error));
    },
  };
}
