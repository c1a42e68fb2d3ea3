import type { Hono } from 'hono';
import { z } from 'zod';
import type { GatewayEnv } from '../../gateway-env.ts';
import { GatewayError } from '../../gateway-error.ts';
import type { ProviderQueues } from '../../routing/provider-queues.ts';
import { parseJsonBody, parseRequest } from '../v1/request-body.ts';

/** Options of {@link addQueueRoutes}. */
export interface QueueRoutesOptions {
  queues: ProviderQueues;
  /** Every provider id in the running configuration, with its configured `maxConcurrency`. */
  providers: () => ReadonlyMap<string, number | undefined>;
  /** True when a provider's concurrency follows its upstream (`adaptiveConcurrency`): it is not set by hand. */
  adaptive: (providerId: string) => boolean;
}

const patchSchema = z.strictObject({ max_concurrency: z.int().min(1).max(100_000).nullable() });

/**
 * The providers' queues: `GET /admin/queues` (every queue: running, queued, its cap, the configured cap and the
 * override) and `PATCH /admin/queues/:provider` `{ "max_concurrency": 1 }` to change a provider's concurrency live
 * (`null` goes back to the configured value). Queued calls are never dropped: a lower cap lets running calls finish
 * first, a higher one starts waiting calls at once. An override lasts until the process stops, through reloads.
 *
 * @example
 * addQueueRoutes(admin, { queues, providers: () => new Map([['glm', 4]]), adaptive: () => false });
 */
export function addQueueRoutes(admin: Hono<GatewayEnv>, options: QueueRoutesOptions): void {
  const { queues } = options;
  const view = (providerId: string, configured: number | undefined): Record<string, unknown> => {
    const snapshot = queues.snapshot().find((queue) => queue.key === providerId);
    const override = queues.overrides().get(providerId) ?? null;
    return {
      provider: providerId,
      running: snapshot?.running ?? 0,
      queued: snapshot?.queued ?? 0,
      max_concurrency: snapshot?.maxConcurrency ?? override ?? configured ?? null,
      max_queue: snapshot?.maxQueue ?? null,
      configured_max_concurrency: configured ?? null,
      override,
      adaptive: options.adaptive(providerId),
    };
  };

  admin.get('/queues', (c) => {
    const data = [...options.providers()]
      .filter(([id]) => queues.limits(id))
      .map(([id, configured]) => view(id, configured));
    return c.json({ data });
  });

  admin.patch('/queues/:provider', async (c) => {
    const providerId = c.req.param('provider');
    const providers = options.providers();
    if (!providers.has(providerId)) {
      throw new GatewayError(`No provider with the id "${providerId}".`, {
        status: 404,
        type: 'not_found_error',
        code: 'provider_not_found',
      });
    }
    if (options.adaptive(providerId)) {
      throw new GatewayError(
        `The concurrency of "${providerId}" follows its upstream (adaptiveConcurrency); change its settings instead.`,
        { status: 409, type: 'invalid_request_error', code: 'adaptive_concurrency' },
      );
    }
    const input = parseRequest(patchSchema, parseJsonBody(await c.req.text(), 4));
    queues.override(providerId, input.max_concurrency);
    return c.json(view(providerId, providers.get(providerId)));
  });
}
