import type { Context, Hono } from 'hono';
import { z } from 'zod';
import type { GatewayConfig } from '../config/schema.ts';
import type { GatewayEnv } from '../gateway-env.ts';
import { GatewayError } from '../gateway-error.ts';
import { parseJsonBody, parseRequest } from '../routes/v1/request-body.ts';
import { BATCH_ENDPOINTS, parseBatchInput } from './batch-input.ts';
import type { Batch, BatchFile, Owner } from './batch-records.ts';
import type { BatchStore } from './batch-store.ts';

/** Options of {@link addBatchRoutes}. */
export interface BatchRoutesOptions {
  store: BatchStore;
  settings: GatewayConfig['batches'];
  maxJsonDepth: number;
  /** Tells the runner there is work. */
  wake: () => void;
  now?: () => number;
}

// OpenAI accepts one completion window.
const COMPLETION_WINDOWS: Readonly<Record<string, number>> = { '24h': 24 * 3_600_000 };

const createBatchSchema = z.strictObject({
  input_file_id: z.string().min(1).max(200),
  endpoint: z.enum(BATCH_ENDPOINTS),
  completion_window: z.string(),
  // OpenAI's metadata: at most 16 pairs, keys up to 64 characters, values up to 512.
  metadata: z
    .record(z.string().max(64), z.string().max(512))
    .refine((value) => Object.keys(value).length <= 16, 'at most 16 keys')
    .nullish(),
});

const listSchema = z.strictObject({
  after: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

function seconds(ms: number | null): number | null {
  return ms === null ? null : Math.floor(ms / 1000);
}

/** OpenAI's file object. */
export function fileObject(file: BatchFile): Record<string, unknown> {
  return {
    id: file.id,
    object: 'file',
    bytes: file.bytes,
    created_at: seconds(file.createdAt),
    filename: file.filename,
    purpose: file.purpose,
    status: 'processed',
    expires_at: null,
    status_details: null,
  };
}

/** OpenAI's batch object. */
export function batchObject(batch: Batch): Record<string, unknown> {
  return {
    id: batch.id,
    object: 'batch',
    endpoint: batch.endpoint,
    errors: null,
    input_file_id: batch.inputFileId,
    completion_window: batch.completionWindow,
    status: batch.status,
    output_file_id: batch.outputFileId,
    error_file_id: batch.errorFileId,
    created_at: seconds(batch.createdAt),
    in_progress_at: seconds(batch.inProgressAt),
    expires_at: seconds(batch.expiresAt),
    finalizing_at: seconds(batch.finalizingAt),
    completed_at: seconds(batch.completedAt),
    failed_at: seconds(batch.failedAt),
    expired_at: seconds(batch.expiredAt),
    cancelling_at: seconds(batch.cancellingAt),
    cancelled_at: seconds(batch.cancelledAt),
    request_counts: batch.counts,
    metadata: batch.metadata,
  };
}

function notFound(what: 'file' | 'batch', id: string): GatewayError {
  return new GatewayError(`No ${what} with id ${JSON.stringify(id.slice(0, 200))}.`, {
    status: 404,
    type: 'invalid_request_error',
    code: `${what}_not_found`,
  });
}

function invalid(message: string, param: string, code = 'invalid_request'): GatewayError {
  return new GatewayError(message, { status: 400, type: 'invalid_request_error', code, param });
}

/** A virtual key sees its own files and batches; the master key (and open mode) sees every one. */
function ownerOf(c: Context<GatewayEnv>): Owner {
  return c.get('apiKey')?.id;
}

/**
 * OpenAI's Files and Batches, run by the gateway: `POST /v1/files` (multipart, `purpose: batch`, a JSONL of batch
 * lines, checked line by line), `GET /v1/files/:id`, `GET /v1/files/:id/content`, `DELETE /v1/files/:id`,
 * `POST /v1/batches`, `GET /v1/batches/:id`, `GET /v1/batches`, `POST /v1/batches/:id/cancel`. A file or batch
 * belongs to the key that created it: another virtual key gets 404.
 *
 * @example
 * addBatchRoutes(app, { store, settings: config.batches, maxJsonDepth: 64, wake: runner.wake });
 */
export function addBatchRoutes(app: Hono<GatewayEnv>, options: BatchRoutesOptions): void {
  const { store, settings } = options;
  const now = options.now ?? Date.now;

  app.post('/v1/files', async (c) => {
    const type = c.req.header('content-type') ?? '';
    if (!type.toLowerCase().startsWith('multipart/form-data')) {
      throw invalid('Upload the file as multipart/form-data with the fields "file" and "purpose".', 'file');
    }
    const form = await c.req.parseBody();
    const purpose = form['purpose'];
    if (purpose !== 'batch') {
      throw invalid('purpose must be "batch" (the only purpose this gateway serves).', 'purpose', 'invalid_purpose');
    }
    const file = form['file'];
    if (!(file instanceof File)) throw invalid('The form has no "file" field holding a file.', 'file');
    if (file.size > settings.maxFileBytes) {
      throw new GatewayError(`The file is larger than the limit of ${settings.maxFileBytes} bytes.`, {
        status: 413,
        type: 'invalid_request_error',
        code: 'file_too_large',
        param: 'file',
      });
    }
    const content = await file.text();
    parseBatchInput(content, { maxLines: settings.maxLines });
    const created = await store.createFile({
      keyId: c.get('apiKey')?.id ?? null,
      purpose: 'batch',
      filename: file.name === '' ? 'batch.jsonl' : file.name.slice(0, 256),
      content,
    });
    return c.json(fileObject(created));
  });

  app.get('/v1/files/:id', async (c) => {
    const id = c.req.param('id');
    const file = await store.getFile(id, ownerOf(c));
    if (file === undefined) throw notFound('file', id);
    return c.json(fileObject(file));
  });

  app.get('/v1/files/:id/content', async (c) => {
    const id = c.req.param('id');
    const content = await store.fileContent(id, ownerOf(c));
    if (content === undefined) throw notFound('file', id);
    return c.body(content, 200, { 'content-type': 'application/jsonl' });
  });

  app.delete('/v1/files/:id', async (c) => {
    const id = c.req.param('id');
    if (!(await store.deleteFile(id, ownerOf(c)))) throw notFound('file', id);
    return c.json({ id, object: 'file', deleted: true });
  });

  app.post('/v1/batches', async (c) => {
    const request = parseRequest(createBatchSchema, parseJsonBody(await c.req.text(), options.maxJsonDepth));
    const windowMs = COMPLETION_WINDOWS[request.completion_window];
    if (windowMs === undefined) {
      throw invalid(
        `completion_window must be one of ${Object.keys(COMPLETION_WINDOWS).join(', ')}.`,
        'completion_window',
      );
    }
    const owner = ownerOf(c);
    const file = await store.getFile(request.input_file_id, owner);
    const content = file?.purpose === 'batch' ? await store.fileContent(file.id, owner) : undefined;
    if (content === undefined) {
      throw new GatewayError(`No batch input file with id ${JSON.stringify(request.input_file_id.slice(0, 200))}.`, {
        status: 404,
        type: 'invalid_request_error',
        code: 'file_not_found',
        param: 'input_file_id',
      });
    }
    const lines = parseBatchInput(content, { maxLines: settings.maxLines });
    const other = lines.find((line) => line.url !== request.endpoint);
    if (other !== undefined) {
      throw invalid(
        `Line ${other.lineNo} of the input file asks for ${other.url}, but the batch runs ${request.endpoint}: every line must use the batch's endpoint.`,
        'input_file_id',
        'invalid_batch_line',
      );
    }
    const batch = await store.createBatch({
      keyId: c.get('apiKey')?.id ?? null,
      endpoint: request.endpoint,
      inputFileId: request.input_file_id,
      completionWindow: request.completion_window,
      windowMs,
      metadata: request.metadata ?? null,
      lines,
      now: now(),
    });
    options.wake();
    return c.json(batchObject(batch));
  });

  app.get('/v1/batches', async (c) => {
    const query = parseRequest(listSchema, c.req.query());
    const page = await store.listBatches({ owner: ownerOf(c), after: query.after, limit: query.limit });
    const data = page.data.map(batchObject);
    return c.json({
      object: 'list',
      data,
      first_id: page.data[0]?.id ?? null,
      last_id: page.data.at(-1)?.id ?? null,
      has_more: page.hasMore,
    });
  });

  app.get('/v1/batches/:id', async (c) => {
    const id = c.req.param('id');
    const batch = await store.getBatch(id, ownerOf(c));
    if (batch === undefined) throw notFound('batch', id);
    return c.json(batchObject(batch));
  });

  app.post('/v1/batches/:id/cancel', async (c) => {
    const id = c.req.param('id');
    const batch = await store.cancel(id, ownerOf(c), now());
    if (batch === undefined) throw notFound('batch', id);
    if (batch === false) {
      const current = await store.getBatch(id, ownerOf(c));
      throw new GatewayError(`A batch that is ${current?.status ?? 'finished'} cannot be cancelled.`, {
        status: 409,
        type: 'invalid_request_error',
        code: 'batch_not_cancellable',
      });
    }
    options.wake();
    return c.json(batchObject(batch));
  });
}
