import { Redis } from 'ioredis';
import type { KeyChangeBus } from '../keys/key-resolver.ts';
import type { Logger } from '../observability/logger.ts';

/** The gateway's Redis connections: one for commands (limits, budgets), one subscribed to key changes. */
export interface GatewayRedis {
  /** Commands: rate limits, budgets, publishing key changes. */
  readonly client: Redis;
  /** Key changes between processes. */
  readonly bus: KeyChangeBus;
  /**
   * Resolves once the command connection is ready, or after `timeoutMs` (then the stores follow their fail mode
   * until it is): a gateway started a moment before its Redis still starts.
   */
  ready(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Connects to `redis.url`. Commands are never queued while Redis is away (`enableOfflineQueue: false`): the stores
 * decide at once, open or closed, instead of debiting late. Reconnects forever, with a capped backoff; an outage is
 * logged once when it starts and once when it ends.
 *
 * @example
 * const redis = connectRedis(config.redis.url, logger);
 */
export function connectRedis(url: string, logger: Logger): GatewayRedis {
  const options = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
    lazyConnect: false,
  };
  const client = new Redis(url, options);
  const subscriber = new Redis(url, { ...options, enableOfflineQueue: true, maxRetriesPerRequest: null });
  let down = false;
  client.on('error', (error: unknown) => {
    if (down) return;
    down = true;
    logger.warn('redis is unreachable: limits and budgets follow their fail mode until it is back', { error });
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info('redis is back');
  });
  subscriber.on('error', () => undefined);
  const handlers = new Map<string, (message: string) => void>();
  const listeners = new Set<(listening: boolean) => void>();
  // Whether the subscriber holds its subscriptions: lost when its connection closes, back once they are renewed.
  let subscribed = false;
  subscriber.on('message', (channel: string, message: string) => handlers.get(channel)?.(message));
  subscriber.on('close', () => {
    if (!subscribed) return;
    subscribed = false;
    for (const listener of listeners) listener(false);
  });
  subscriber.on('ready', () => {
    if (subscribed || handlers.size === 0) return;
    // ioredis renews the subscriptions on its own after a reconnect, but says nothing when they hold: asking again
    // (a no-op for Redis) gives an answer to wait for.
    subscriber.subscribe(...handlers.keys()).then(
      () => {
        if (subscribed) return;
        subscribed = true;
        for (const listener of listeners) listener(true);
      },
      () => undefined,
    );
  });
  return {
    client,
    bus: {
      publish: (channel, message) => client.publish(channel, message),
      subscribe: async (channel, onMessage, onListening) => {
        handlers.set(channel, onMessage);
        if (onListening !== undefined) listeners.add(onListening);
        await subscriber.subscribe(channel);
        subscribed = true;
      },
    },
    ready: (timeoutMs) =>
      client.status === 'ready'
        ? Promise.resolve(true)
        : new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => {
              client.off('ready', onReady);
              resolve(false);
            }, timeoutMs);
            const onReady = (): void => {
              clearTimeout(timer);
              resolve(true);
            };
            client.once('ready', onReady);
          }),
    close: async () => {
      subscriber.disconnect();
      await client.quit().catch(() => client.disconnect());
    },
  };
}
