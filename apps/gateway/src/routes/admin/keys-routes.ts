import { money, moneyToNumber, type Money } from '@gw/cost';
import type { Hono } from 'hono';
import { z } from 'zod';
import type { GatewayEnv } from '../../gateway-env.ts';
import { GatewayError } from '../../gateway-error.ts';
import type { KeyResolver } from '../../keys/key-resolver.ts';
import type { KeySettings, KeyStore, VirtualKey } from '../../keys/key-store.ts';
import { parseJsonBody, parseRequest } from '../v1/request-body.ts';

/** What a key has spent in its budget's current period. */
export interface KeySpend {
  readonly spent: Money;
  /** When the current period started (`null` for a `total` budget). */
  readonly periodStart: Date | null;
}

/** Options of {@link addKeyRoutes}. */
export interface KeyRoutesOptions {
  store: KeyStore | undefined;
  resolver: KeyResolver | undefined;
  /** The reporting currency: budgets are in it. */
  currency: string;
  /** What a key with a budget has spent (from the budget store); `undefined` when unknown. */
  spendOf?: ((key: VirtualKey) => Promise<KeySpend | undefined>) | undefined;
  /** Told after a key was created, changed or revoked (budgets, limits). */
  onChange?: ((key: VirtualKey) => void) | undefined;
}

const limit = z.int().positive().max(1_000_000_000).nullable();
const tokenLimit = z.int().positive().max(1_000_000_000_000).nullable();
const settingsSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  models: z.array(z.string().min(1).max(400)).max(1000).nullable(),
  rpm: limit,
  tpm: tokenLimit,
  max_parallel: limit,
  model_limits: z
    .record(
      z.string().min(1).max(400),
      z.strictObject({
        rpm: z.int().positive().max(1_000_000_000).optional(),
        tpm: z.int().positive().max(1_000_000_000_000).optional(),
      }),
    )
    .nullable(),
  budget: z
    .strictObject({
      amount: z.number().positive().max(9_000_000),
      period: z.enum(['day', 'month', 'total']),
    })
    .nullable(),
  expires_at: z.iso.datetime({ offset: true }).nullable(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
});
const createSchema = settingsSchema.partial().required({ name: true });
const patchSchema = settingsSchema.partial();

type SettingsInput = z.output<typeof patchSchema>;

function toSettings(input: SettingsInput, currency: string): Partial<KeySettings> {
  return {
    ...(input.name === undefined ? {} : { name: input.name }),
    ...(input.models === undefined ? {} : { models: input.models }),
    ...(input.rpm === undefined ? {} : { rpm: input.rpm }),
    ...(input.tpm === undefined ? {} : { tpm: input.tpm }),
    ...(input.max_parallel === undefined ? {} : { maxParallel: input.max_parallel }),
    ...(input.model_limits === undefined ? {} : { modelLimits: input.model_limits }),
    ...(input.budget === undefined
      ? {}
      : {
          budget:
            input.budget === null
              ? null
              : { amount: money(String(input.budget.amount), currency), period: input.budget.period },
        }),
    ...(input.expires_at === undefined
      ? {}
      : { expiresAt: input.expires_at === null ? null : new Date(input.expires_at) }),
    ...(input.metadata === undefined ? {} : { metadata: input.metadata }),
  };
}

/** A key as the admin API shows it: snake_case, never the secret. */
function keyJson(key: VirtualKey, spend: KeySpend | undefined): Record<string, unknown> {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    models: key.models,
    rpm: key.rpm,
    tpm: key.tpm,
    max_parallel: key.maxParallel,
    model_limits: key.modelLimits,
    budget:
      key.budget === null
        ? null
        : {
            amount: moneyToNumber(key.budget.amount),
            period: key.budget.period,
            currency: key.budget.amount.currency,
          },
    spend:
      spend === undefined
        ? null
        : {
            amount: moneyToNumber(spend.spent),
            currency: spend.spent.currency,
            period_start: spend.periodStart?.toISOString() ?? null,
          },
    expires_at: key.expiresAt?.toISOString() ?? null,
    metadata: key.metadata,
    created_at: key.createdAt.toISOString(),
    updated_at: key.updatedAt.toISOString(),
    revoked_at: key.revokedAt?.toISOString() ?? null,
  };
}

function noKey(): GatewayError {
  return new GatewayError('No virtual key with this id.', {
    status: 404,
    type: 'not_found_error',
    code: 'key_not_found',
  });
}

function keysUnavailable(): GatewayError {
  return new GatewayError('Virtual keys need the database (storage.url).', {
    status: 404,
    type: 'not_found_error',
    code: 'keys_unavailable',
  });
}

/**
 * The virtual keys' admin routes: `POST /admin/keys` (the secret is in this answer only), `GET /admin/keys`,
 * `GET /admin/keys/:id`, `PATCH /admin/keys/:id` (`null` clears a field) and `DELETE /admin/keys/:id` (revokes: the
 * key answers 401 within a second on every process). Budgets are in the reporting currency.
 *
 * @example
 * addKeyRoutes(admin, { store, resolver, currency: 'USD' });
 */
export function addKeyRoutes(admin: Hono<GatewayEnv>, options: KeyRoutesOptions): void {
  const { store, resolver, currency } = options;
  const withSpend = async (key: VirtualKey): Promise<Record<string, unknown>> =>
    keyJson(key, key.budget === null ? undefined : await options.spendOf?.(key));
  const changed = async (key: VirtualKey): Promise<void> => {
    options.onChange?.(key);
    await resolver?.changed(key.id);
  };

  admin.post('/keys', async (c) => {
    if (store === undefined) throw keysUnavailable();
    const input = parseRequest(createSchema, parseJsonBody(await c.req.text(), 16));
    const settings = toSettings(input, currency);
    const { key, secret } = await store.create({
      name: input.name,
      models: settings.models ?? null,
      rpm: settings.rpm ?? null,
      tpm: settings.tpm ?? null,
      maxParallel: settings.maxParallel ?? null,
      modelLimits: settings.modelLimits ?? null,
      budget: settings.budget ?? null,
      expiresAt: settings.expiresAt ?? null,
      metadata: settings.metadata ?? null,
    });
    await changed(key);
    return c.json({ ...(await withSpend(key)), key: secret }, 201);
  });

  admin.get('/keys', async (c) => {
    if (store === undefined) throw keysUnavailable();
    const keys = await store.list();
    return c.json({ data: await Promise.all(keys.map(withSpend)) });
  });

  admin.get('/keys/:id', async (c) => {
    if (store === undefined) throw keysUnavailable();
    const key = await store.get(c.req.param('id'));
    if (key === undefined) throw noKey();
    return c.json(await withSpend(key));
  });

  admin.patch('/keys/:id', async (c) => {
    if (store === undefined) throw keysUnavailable();
    const input = parseRequest(patchSchema, parseJsonBody(await c.req.text(), 16));
    const key = await store.update(c.req.param('id'), toSettings(input, currency));
    if (key === undefined) throw noKey();
    await changed(key);
    return c.json(await withSpend(key));
  });

  admin.delete('/keys/:id', async (c) => {
    if (store === undefined) throw keysUnavailable();
    const key = await store.revoke(c.req.param('id'));
    if (key === undefined) throw noKey();
    await changed(key);
    return c.json({ id: key.id, revoked_at: key.revokedAt?.toISOString() ?? null });
  });
}
