import { describe, expect, it, vi } from 'vitest';
import type { ConcurrencyLimiterOptions } from './concurrency-limiter.ts';
import { createLimiterRegistry } from './limiter-registry.ts';
import { isLimiterStoppedError, isQueueFullError } from './queue-errors.ts';

const DEPLOYMENTS: Record<string, ConcurrencyLimiterOptions> = {
  openai: { maxConcurrency: 2, maxQueue: 10 },
  glm: { maxConcurrency: 1, maxQueue: 0, name: 'zhipu-glm' },
};

describe('createLimiterRegistry', () => {
  it('creates one limiter per key on first use, from that key’s options', async () => {
    const optionsFor = vi.fn((key: string) => DEPLOYMENTS[key]);
    const limiters = createLimiterRegistry({ optionsFor });
    expect(limiters.has('openai')).toBe(false);

    const openai = limiters.get('openai');
    expect(limiters.get('openai')).toBe(openai);
    expect(optionsFor).toHaveBeenCalledTimes(1);
    expect(openai).toMatchObject({ name: 'openai', maxConcurrency: 2, maxQueue: 10 });

    // Keys do not share slots: glm is full while openai still has room.
    await limiters.get('glm').acquire();
    const refused = await limiters
      .get('glm')
      .acquire()
      .catch((error: unknown) => error);
    expect(isQueueFullError(refused)).toBe(true);
    expect(refused).toMatchObject({ limiter: 'zhipu-glm' });
    await openai.acquire();
    expect(openai.running).toBe(1);
  });

  it('throws for a key with no options', () => {
    const limiters = createLimiterRegistry({ optionsFor: (key) => DEPLOYMENTS[key] });
    expect(() => limiters.get('missing')).toThrow('no concurrency limiter is configured for missing');
    expect(limiters.has('missing')).toBe(false);
  });

  it('snapshots running and queued of every limiter', async () => {
    const limiters = createLimiterRegistry({ optionsFor: (key) => DEPLOYMENTS[key] });
    const openai = limiters.get('openai');
    await openai.acquire();
    await openai.acquire();
    void openai.acquire();
    limiters.get('glm');

    expect(limiters.snapshot()).toEqual([
      { key: 'openai', name: 'openai', running: 2, queued: 1, maxConcurrency: 2, maxQueue: 10 },
      { key: 'glm', name: 'zhipu-glm', running: 0, queued: 0, maxConcurrency: 1, maxQueue: 0 },
    ]);
  });

  it('stop() stops every limiter, also those created afterwards', async () => {
    const limiters = createLimiterRegistry({ optionsFor: (key) => DEPLOYMENTS[key] });
    const openai = limiters.get('openai');
    await openai.acquire();
    await openai.acquire();
    const queued = openai.acquire().catch((error: unknown) => error);

    limiters.stop();

    expect(isLimiterStoppedError(await queued)).toBe(true);
    expect(openai.running).toBe(2);
    const late = await limiters
      .get('glm')
      .acquire()
      .catch((error: unknown) => error);
    expect(isLimiterStoppedError(late)).toBe(true);
  });
});
