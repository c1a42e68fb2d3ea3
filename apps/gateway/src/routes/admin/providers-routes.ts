import { isProviderError } from '@gw/providers';
import type { Hono } from 'hono';
import { z } from 'zod';
import type { ProviderSettings } from '../../config/schema.ts';
import { maskSecret } from '../../config/secrets.ts';
import type { GatewayEnv } from '../../gateway-env.ts';
import { GatewayError } from '../../gateway-error.ts';
import type { ProviderRegistry } from '../../routing/provider-registry.ts';
import { noProvider, type StoredProvider, type StoredProviders } from '../../stored-providers/stored-providers.ts';
import { parseJsonBody, parseRequest } from '../v1/request-body.ts';
import { toSnake } from '../../snake-case.ts';

/** Options of {@link addProviderRoutes}. */
export interface ProviderRoutesOptions {
  /** The stored providers; without the database only the file's are listed, and writes answer 404. */
  stored: StoredProviders | undefined;
  /** The file's providers, as running. */
  fileProviders: () => readonly ProviderSettings[];
  /** The providers the routing uses now. */
  registry: ProviderRegistry;
  /** Makes the stored providers current in the routing (after a write). */
  refresh: () => Promise<void>;
  /** How long `test` and `sync-models` wait for the vendor. */
  timeoutMs: number;
  now?: (() => number) | undefined;
}

const SECRET_KEYS = new Set(['apiKey', 'secretAccessKey', 'sessionToken']);
const toCamel = (name: string): string => name.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase());

/** Settings in the admin API's spelling, secrets masked; header names are data and keep theirs. */
function settingsJson(settings: ProviderSettings): Record<string, unknown> {
  const convert = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(convert);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [toSnake(key), convert(field)]));
  };
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined) continue;
    if (SECRET_KEYS.has(key) && typeof value === 'string') out[toSnake(key)] = maskSecret(value);
    else if (key === 'headers' && typeof value === 'object')
      out['headers'] = Object.fromEntries(
        Object.entries(value).map(([name, header]) => [name, typeof header === 'string' ? maskSecret(header) : header]),
      );
    else out[toSnake(key)] = convert(value);
  }
  return out;
}

/** A request body in the configuration's spelling (camelCase), header names left as sent. */
function settingsInput(body: Record<string, unknown>): Record<string, unknown> {
  const convert = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(convert);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [toCamel(key), convert(field)]));
  };
  return Object.fromEntries(
    Object.entries(body).map(([key, value]) => [toCamel(key), key === 'headers' ? value : convert(value)]),
  );
}

const bodySchema = z.record(z.string(), z.unknown());
const createSchema = z.looseObject({ id: z.string().min(1).max(200) });

function upstreamFailed(what: string, error: unknown): GatewayError {
  // Provider errors are scrubbed of keys; anything else says nothing.
  const detail = isProviderError(error) ? `${error.kind}: ${error.message}` : 'the call failed';
  return new GatewayError(`${what}: ${detail}`, {
    status: 502,
    type: 'upstream_error',
    code: isProviderError(error) ? error.kind : 'upstream_error',
  });
}

/**
 * The providers' admin routes. `GET /admin/providers` lists the file's providers and the stored ones (`source`),
 * each with its `status` (`enabled`, `disabled`, `shadowed` by a file provider of the same id, `unusable`) and its
 * settings, secrets masked (`sk-…abcd`). `POST /admin/providers` (`{ "id", "kind", "api_key", … }`, the fields of
 * gateway.yaml in snake_case), `PATCH /admin/providers/:id` (`null` clears a field) and `DELETE` change the stored
 * ones, which serve requests as soon as the answer is sent; the file's are changed in the file. `POST
 * /admin/providers/:id/test` runs the provider's health check; `POST /admin/providers/:id/sync-models` asks the
 * vendor for its model list and keeps it (in the database for stored providers, until restart for the file's).
 *
 * @example
 * addProviderRoutes(admin, { stored, fileProviders: () => config.providers, registry, refresh, timeoutMs: 5000 });
 */
export function addProviderRoutes(admin: Hono<GatewayEnv>, options: ProviderRoutesOptions): void {
  const { stored, registry } = options;
  const now = options.now ?? Date.now;
  // Model lists of the file's providers: they have no row to keep them in.
  const fileSynced = new Map<string, { models: readonly string[]; at: Date }>();

  const status = (id: string): { status: string; reason: string | null } => {
    if (registry.enabled.has(id)) return { status: 'enabled', reason: null };
    return { status: 'disabled', reason: registry.disabled.get(id)?.reason ?? 'not in the routing' };
  };

  const fileJson = (settings: ProviderSettings): Record<string, unknown> => {
    const synced = fileSynced.get(settings.id);
    return {
      id: settings.id,
      source: 'file',
      ...status(settings.id),
      ...settingsJson(settings),
      synced_models: synced?.models ?? null,
      synced_at: synced?.at.toISOString() ?? null,
    };
  };

  const storedJson = (provider: StoredProvider, fileIds: ReadonlySet<string>): Record<string, unknown> => {
    const { row, settings, problem } = provider;
    const state = fileIds.has(row.id)
      ? { status: 'shadowed', reason: 'the configuration file defines this id: its provider is used' }
      : settings === undefined
        ? { status: 'unusable', reason: problem ?? 'unreadable' }
        : status(row.id);
    return {
      id: row.id,
      source: 'database',
      ...state,
      ...(settings === undefined ? { kind: row.kind } : settingsJson(settings)),
      synced_models: row.syncedModels,
      synced_at: row.syncedAt?.toISOString() ?? null,
      created_at: row.createdAt.toISOString(),
      updated_at: row.updatedAt.toISOString(),
    };
  };

  const fileIds = (): Set<string> => new Set(options.fileProviders().map((provider) => provider.id));
  const storedOrThrow = (): StoredProviders => {
    if (stored !== undefined) return stored;
    throw new GatewayError('Providers are stored in the database (storage.url), which is not configured.', {
      status: 404,
      type: 'not_found_error',
      code: 'providers_unavailable',
    });
  };

  admin.get('/providers', async (c) => {
    const ids = fileIds();
    const rows = (await stored?.list()) ?? [];
    return c.json({
      data: [...options.fileProviders().map(fileJson), ...rows.map((provider) => storedJson(provider, ids))],
    });
  });

  admin.get('/providers/:id', async (c) => {
    const id = c.req.param('id');
    const file = options.fileProviders().find((provider) => provider.id === id);
    if (file !== undefined) return c.json(fileJson(file));
    const provider = await stored?.get(id);
    if (provider === undefined) throw noProvider(id);
    return c.json(storedJson(provider, fileIds()));
  });

  admin.post('/providers', async (c) => {
    const providers = storedOrThrow();
    const { id, ...rest } = parseRequest(createSchema, parseJsonBody(await c.req.text(), 8));
    const provider = await providers.create(id, settingsInput(rest));
    await options.refresh();
    return c.json(storedJson(provider, fileIds()), 201);
  });

  admin.patch('/providers/:id', async (c) => {
    const providers = storedOrThrow();
    const body = parseRequest(bodySchema, parseJsonBody(await c.req.text(), 8));
    const provider = await providers.update(c.req.param('id'), settingsInput(body));
    await options.refresh();
    return c.json(storedJson(provider, fileIds()));
  });

  admin.delete('/providers/:id', async (c) => {
    const id = c.req.param('id');
    if (!(await storedOrThrow().remove(id))) throw noProvider(id);
    await options.refresh();
    return c.json({ id, deleted: true });
  });

  const enabledOrThrow = (id: string) => {
    const entry = registry.enabled.get(id);
    if (entry !== undefined) return entry;
    const disabled = registry.disabled.get(id);
    if (disabled === undefined) throw noProvider(id);
    throw new GatewayError(`The provider "${id}" is disabled: ${disabled.reason}.`, {
      status: 409,
      type: 'invalid_request_error',
      code: 'provider_disabled',
    });
  };

  admin.post('/providers/:id/test', async (c) => {
    const entry = enabledOrThrow(c.req.param('id'));
    const signal = AbortSignal.any([c.req.raw.signal, AbortSignal.timeout(options.timeoutMs)]);
    const result = await entry.provider.healthCheck({ signal });
    return c.json({
      id: entry.id,
      ok: result.ok,
      latency_ms: Math.round(result.latencyMs),
      error: result.error === undefined ? null : { kind: result.error.kind, message: result.error.message },
    });
  });

  admin.post('/providers/:id/sync-models', async (c) => {
    const entry = enabledOrThrow(c.req.param('id'));
    const signal = AbortSignal.any([c.req.raw.signal, AbortSignal.timeout(options.timeoutMs)]);
    let models: string[];
    try {
      models = (await entry.provider.listModels({ signal })).map((model) => model.id);
    } catch (error) {
      throw upstreamFailed(`The vendor did not list its models`, error);
    }
    const at = new Date(now());
    if (fileIds().has(entry.id)) fileSynced.set(entry.id, { models, at });
    else await storedOrThrow().setSyncedModels(entry.id, models);
    return c.json({ id: entry.id, models, synced_at: at.toISOString() });
  });
}
