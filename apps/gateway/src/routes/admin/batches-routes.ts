import type { Hono } from 'hono';
import { z } from 'zod';
import { batchObject } from '../../batches/batch-routes.ts';
import type { BatchStore } from '../../batches/batch-store.ts';
import type { GatewayEnv } from '../../gateway-env.ts';
import { GatewayError } from '../../gateway-error.ts';
import { parseRequest } from '../v1/request-body.ts';

/** Options of {@link addBatchAdminRoutes}; without a store (no database, or `batches.enabled: false`) the routes answer 404. */
export interface BatchAdminRoutesOptions {
  store: BatchStore | undefined;
  /** Tells the runner there is work. */
  wake: () => void;
  now?: () => number;
}

const listSchema = z.strictObject({
  after: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

function batchNotFound(id: string): GatewayError {
  return new GatewayError(`No batch with id ${JSON.stringify(id.slice(0, 200))}.`, {
    status: 404,
    type: 'invalid_request_error',
    code: 'batch_not_found',
  });
}

function disabled(): GatewayError {
  return new GatewayError('Batches are not enabled on this gateway (they need storage and batches.enabled).', {
    status: 404,
    type: 'invalid_request_error',
    code: 'batches_disabled',
  });
}

/**
 * The batches for operators: `GET /admin/batches` (every key's batches, newest first, with their progress and owning
 * key), `POST /admin/batches/:id/retry` (requeues every failed line) and `POST /admin/batches/:id/lines/:custom_id/retry`
 * (one line). A requeued batch goes back to `in_progress`; its output and error files are written again when it ends.
 *
 * @example
 * addBatchAdminRoutes(admin, { store, wake: runner.wake });
 */
export function addBatchAdminRoutes(admin: Hono<GatewayEnv>, options: BatchAdminRoutesOptions): void {
  const now = options.now ?? Date.now;

  admin.get('/batches', async (c) => {
    const { store } = options;
    if (store === undefined) throw disabled();
    const query = parseRequest(listSchema, c.req.query());
    const page = await store.listBatches({ owner: undefined, after: query.after, limit: query.limit });
    return c.json({
      data: page.data.map((batch) => ({
        ...batchObject(batch),
        api_key_id: batch.keyId,
        progress: batch.counts.total === 0 ? 1 : (batch.counts.completed + batch.counts.failed) / batch.counts.total,
      })),
      has_more: page.hasMore,
    });
  });

  const retry = async (batchId: string, customId: string | undefined): Promise<Record<string, unknown>> => {
    const { store } = options;
    if (store === undefined) throw disabled();
    const requeued = await store.requeue(batchId, customId, now());
    if (requeued === undefined) {
      if (customId === undefined || (await store.getBatch(batchId, undefined)) === undefined)
        throw batchNotFound(batchId);
      throw new GatewayError(`Batch ${batchId} has no line with custom_id ${JSON.stringify(customId.slice(0, 200))}.`, {
        status: 404,
        type: 'invalid_request_error',
        code: 'batch_line_not_found',
      });
    }
    if (requeued === false) {
      throw new GatewayError(
        customId === undefined
          ? 'Only the failed lines of an in-progress or completed batch can be retried (not a cancelled or expired one).'
          : 'Only a failed line of an in-progress or completed batch can be retried.',
        { status: 409, type: 'invalid_request_error', code: 'not_retryable' },
      );
    }
    if (requeued > 0) options.wake();
    const batch = await store.getBatch(batchId, undefined);
    return { requeued, batch: batch === undefined ? null : batchObject(batch) };
  };

  admin.post('/batches/:id/retry', async (c) => c.json(await retry(c.req.param('id'), undefined)));
  admin.post('/batches/:id/lines/:custom_id/retry', async (c) =>
    c.json(await retry(c.req.param('id'), c.req.param('custom_id'))),
  );
}
