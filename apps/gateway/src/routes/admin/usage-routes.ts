import { formatMoney, moneyToNumber } from '@gw/cost';
import type { Hono } from 'hono';
import { z } from 'zod';
import type { GatewayEnv } from '../../gateway-env.ts';
import { GatewayError } from '../../gateway-error.ts';
import type { LedgerQueries, Percentiles, UsageGroup } from '../../ledger/ledger-queries.ts';
import type { LedgerRow } from '../../ledger/ledger-row.ts';
import { parseRequest } from '../v1/request-body.ts';

const timestamp = z.iso
  .datetime({ offset: true, error: 'expected an ISO 8601 time such as 2026-12-03T00:00:00Z' })
  .or(z.iso.date({ error: 'expected an ISO 8601 date or time' }))
  .transform((text) => new Date(text));

const requestsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  before: z.string().min(1).max(200).optional(),
  model: z.string().min(1).max(400).optional(),
  provider: z.string().min(1).max(200).optional(),
  status: z.enum(['completed', 'failed', 'cancelled']).optional(),
  key: z.string().min(1).max(200).optional(),
  from: timestamp.optional(),
  to: timestamp.optional(),
});

const usageQuerySchema = z.strictObject({
  group_by: z.enum(['day', 'hour', 'model', 'provider', 'key']).default('day'),
  from: timestamp.optional(),
  to: timestamp.optional(),
  // One virtual key's usage (by its id).
  key: z.string().min(1).max(200).optional(),
});

const HOUR_MS = 3_600_000;
const BUCKET_MS = { hour: HOUR_MS, day: 24 * HOUR_MS } as const;
// Enough for 30 days of hours or ~2.7 years of days; a wider range is refused rather than silently cut.
const MAX_BUCKETS = 1000;

const timeseriesQuerySchema = z.strictObject({
  bucket: z.enum(['hour', 'day']).default('hour'),
  group_by: z.enum(['model', 'provider', 'key']).optional(),
  from: timestamp.optional(),
  to: timestamp.optional(),
  key: z.string().min(1).max(200).optional(),
});

const latencyQuerySchema = z.strictObject({
  from: timestamp.optional(),
  to: timestamp.optional(),
  key: z.string().min(1).max(200).optional(),
});

function invalidRange(message: string): GatewayError {
  return new GatewayError(message, { status: 400, type: 'invalid_request_error', code: 'invalid_range' });
}

/**
 * The range of a time-bucketed answer: `to` defaults to now, `from` to 24 hours (hour buckets) or 30 days (day
 * buckets) before it; `from` is moved back to its bucket's start so the first bucket is whole.
 */
function bucketRange(
  bucket: keyof typeof BUCKET_MS,
  from: Date | undefined,
  to: Date | undefined,
  now: number,
): { from: Date; to: Date } {
  const size = BUCKET_MS[bucket];
  const end = to ?? new Date(now);
  const start = from ?? new Date(end.getTime() - (bucket === 'hour' ? 24 : 30) * BUCKET_MS[bucket]);
  const aligned = new Date(start.getTime() - (((start.getTime() % size) + size) % size));
  if (aligned >= end) throw invalidRange('from must be before to.');
  if ((end.getTime() - aligned.getTime()) / size > MAX_BUCKETS) {
    throw invalidRange(`The range holds more than ${MAX_BUCKETS} ${bucket} buckets: narrow it or use bucket=day.`);
  }
  return { from: aligned, to: end };
}

function percentilesJson(percentiles: Percentiles): Record<string, unknown> {
  return { samples: percentiles.samples, p50: percentiles.p50, p95: percentiles.p95 };
}

/** The JSON of one ledger row: snake_case, the cost as a number (display) and exactly (decimal text) by line. */
function rowJson(row: LedgerRow): Record<string, unknown> {
  const { cost, tokens } = row;
  const exact = (amount: bigint): string => formatMoney({ amount, currency: cost?.currency ?? 'USD' });
  return {
    request_id: row.requestId,
    created_at: row.createdAt.toISOString(),
    key_id: row.apiKeyId,
    model: row.model,
    provider: row.provider,
    upstream_model: row.upstreamModel,
    endpoint: row.endpoint,
    stream: row.stream,
    status: row.status,
    http_status: row.httpStatus,
    error_kind: row.errorKind,
    attempts: row.attempts,
    fallback: row.fallback,
    ttft_ms: row.ttftMs,
    latency_ms: row.latencyMs,
    input_tokens: tokens.input + tokens.cachedInput + tokens.cacheWrite,
    output_tokens: tokens.output + tokens.reasoning,
    tokens: {
      input: tokens.input,
      cached_input: tokens.cachedInput,
      cache_write: tokens.cacheWrite,
      output: tokens.output,
      reasoning: tokens.reasoning,
    },
    cost: cost === null ? null : moneyToNumber({ amount: cost.total, currency: cost.currency }),
    currency: cost?.currency ?? null,
    cost_breakdown:
      cost === null
        ? null
        : {
            input: exact(cost.input),
            cached_input: exact(cost.cachedInput),
            cache_write: exact(cost.cacheWrite),
            output: exact(cost.output),
            reasoning: exact(cost.reasoning),
            total: exact(cost.total),
          },
    estimated: row.estimated,
    unpriced: cost === null,
    cache_hit: row.cacheHit === true,
    cost_saved:
      row.cacheHit === true && cost !== null
        ? moneyToNumber({ amount: row.costSaved ?? 0n, currency: cost.currency })
        : 0,
  };
}

const GROUP_FIELD = { day: 'day', hour: 'hour', model: 'model', provider: 'provider', key: 'key_id' } as const;

function groupJson(group: UsageGroup, field: string, currency: string): Record<string, unknown> {
  const { tokens } = group;
  const amount = group.cost[currency] ?? 0n;
  const saved = group.costSaved[currency] ?? 0n;
  const others = Object.entries(group.cost).filter(([code]) => code !== currency);
  return {
    [field]: group.group,
    requests: group.requests,
    errors: group.errors,
    // Their cost is not in `cost`: unknown, never counted as zero.
    unpriced_requests: group.unpriced,
    estimated_requests: group.estimated,
    input_tokens: tokens.input + tokens.cachedInput + tokens.cacheWrite,
    output_tokens: tokens.output + tokens.reasoning,
    cached_input_tokens: tokens.cachedInput,
    cache_write_tokens: tokens.cacheWrite,
    reasoning_tokens: tokens.reasoning,
    cost: moneyToNumber({ amount, currency }),
    cost_exact: formatMoney({ amount, currency }),
    cache_hits: group.cacheHits,
    cost_saved: moneyToNumber({ amount: saved, currency }),
    cost_saved_exact: formatMoney({ amount: saved, currency }),
    // Rows stored while another reporting currency was configured, kept apart rather than converted at today's rate.
    ...(others.length === 0
      ? {}
      : {
          other_currencies: Object.fromEntries(
            others.map(([code, value]) => [code, formatMoney({ amount: value, currency: code })]),
          ),
        }),
  };
}

function storageMissing(): GatewayError {
  return new GatewayError('Usage is not recorded: storage.ledger is off or the database is not configured.', {
    status: 404,
    type: 'not_found_error',
    code: 'ledger_disabled',
  });
}

/**
 * The ledger's admin routes: `GET /admin/requests` (newest first, filtered, paged with `before`),
 * `GET /admin/requests/:id`, and `GET /admin/usage` (requests, tokens and cost per day, hour, model, provider or
 * key, in the reporting currency; of every key, or of one with `key`), `GET /admin/usage/timeseries` (the same per
 * hour or day bucket, each bucket split by model, provider or key: what a chart draws) and `GET /admin/usage/latency`
 * (p50 / p95 latency and time to first token per model).
 *
 * @example
 * addUsageRoutes(admin, { queries: storage.queries, currency: 'USD' });
 */
export function addUsageRoutes(
  admin: Hono<GatewayEnv>,
  options: { queries: LedgerQueries | undefined; currency: string; now?: (() => number) | undefined },
): void {
  const { queries, currency } = options;
  const now = options.now ?? Date.now;

  admin.get('/requests', async (c) => {
    if (queries === undefined) throw storageMissing();
    const query = parseRequest(requestsQuerySchema, c.req.query());
    const page = await queries.listRequests({
      limit: query.limit,
      before: query.before,
      model: query.model,
      provider: query.provider,
      status: query.status,
      keyId: query.key,
      from: query.from,
      to: query.to,
      signal: c.req.raw.signal,
    });
    return c.json({ data: page.rows.map(rowJson), next: page.next ?? null });
  });

  admin.get('/requests/:id', async (c) => {
    if (queries === undefined) throw storageMissing();
    const row = await queries.getRequest(c.req.param('id'), { signal: c.req.raw.signal });
    if (row === undefined) {
      throw new GatewayError('No request with this id in the ledger.', {
        status: 404,
        type: 'not_found_error',
        code: 'request_not_found',
      });
    }
    return c.json(rowJson(row));
  });

  admin.get('/usage', async (c) => {
    if (queries === undefined) throw storageMissing();
    const query = parseRequest(usageQuerySchema, c.req.query());
    const groups = await queries.usage({
      groupBy: query.group_by,
      from: query.from,
      to: query.to,
      keyId: query.key,
      signal: c.req.raw.signal,
    });
    return c.json({
      currency,
      group_by: query.group_by,
      data: groups.map((group) => groupJson(group, GROUP_FIELD[query.group_by], currency)),
    });
  });

  admin.get('/usage/timeseries', async (c) => {
    if (queries === undefined) throw storageMissing();
    const query = parseRequest(timeseriesQuerySchema, c.req.query());
    const range = bucketRange(query.bucket, query.from, query.to, now());
    const groups = await queries.usage({
      groupBy: query.bucket,
      split: query.group_by,
      from: range.from,
      to: range.to,
      keyId: query.key,
      signal: c.req.raw.signal,
    });
    const splitField = query.group_by === undefined ? undefined : GROUP_FIELD[query.group_by];
    return c.json({
      currency,
      bucket: query.bucket,
      group_by: query.group_by ?? null,
      from: range.from.toISOString(),
      to: range.to.toISOString(),
      data: groups.map((group) => ({
        ...groupJson(group, 'bucket', currency),
        ...(splitField === undefined ? {} : { [splitField]: group.split ?? null }),
      })),
    });
  });

  admin.get('/usage/latency', async (c) => {
    if (queries === undefined) throw storageMissing();
    const query = parseRequest(latencyQuerySchema, c.req.query());
    const to = query.to ?? new Date(now());
    const from = query.from ?? new Date(to.getTime() - 24 * HOUR_MS);
    if (from >= to) throw invalidRange('from must be before to.');
    const models = await queries.latency({ from, to, keyId: query.key, signal: c.req.raw.signal });
    return c.json({
      from: from.toISOString(),
      to: to.toISOString(),
      data: models.map((model) => ({
        model: model.model,
        latency_ms: percentilesJson(model.latency),
        ttft_ms: percentilesJson(model.ttft),
      })),
    });
  });
}
