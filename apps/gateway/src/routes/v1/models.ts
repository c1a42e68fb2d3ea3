import type { Context, Handler } from 'hono';
import type { GatewayEnv } from '../../gateway-env.ts';
import { GatewayError } from '../../gateway-error.ts';

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

/** `GET /v1/models` and `GET /v1/models/{id}` for one configuration. */
export interface ModelsRoutes {
  /** `GET /v1/models`: the list. */
  readonly list: Handler<GatewayEnv>;
  /** `GET /v1/models/{id}`: one model (the id may hold a slash: `provider-id/model`). */
  readonly retrieve: Handler<GatewayEnv>;
}

function modelObject(id: string, created: number): { id: string; object: 'model'; created: number; owned_by: 'gw' } {
  return { id, object: 'model', created, owned_by: 'gw' };
}

/** The models a virtual key with a model list may see; `undefined` when it may see them all. */
function allowedOf(c: Context<GatewayEnv>): readonly string[] | undefined {
  return c.get('apiKey')?.models ?? undefined;
}

/**
 * `GET /v1/models` and `GET /v1/models/{id}` in the OpenAI format. The list only changes with the configuration, so
 * its body and each model's are serialised once here, not per request. A virtual key with a model list sees only
 * those models: the others are missing from the list and answer 404 `model_not_found`, as unknown ids do.
 *
 * @example
 * const models = modelsRoutes(resolver.listModelIds(), Math.floor(Date.now() / 1000));
 * app.get('/v1/models', models.list);
 */
export function modelsRoutes(modelIds: readonly string[], created: number): ModelsRoutes {
  const payload = JSON.stringify({ object: 'list', data: modelIds.map((id) => modelObject(id, created)) });
  const one = new Map(modelIds.map((id) => [id, JSON.stringify(modelObject(id, created))] as const));
  return {
    list: (c) => {
      const allowed = allowedOf(c);
      if (allowed === undefined) return c.body(payload, 200, JSON_HEADERS);
      const data = modelIds.filter((id) => allowed.includes(id)).map((id) => modelObject(id, created));
      return c.body(JSON.stringify({ object: 'list', data }), 200, JSON_HEADERS);
    },
    retrieve: (c) => {
      const id = c.req.param('id') ?? '';
      const body = one.get(id);
      const allowed = allowedOf(c);
      if (body === undefined || (allowed !== undefined && !allowed.includes(id))) {
        throw new GatewayError(
          `The model ${JSON.stringify(id.length > 200 ? `${id.slice(0, 200)}…` : id)} does not exist; GET /v1/models lists the models this gateway serves.`,
          { status: 404, type: 'invalid_request_error', code: 'model_not_found', param: 'model' },
        );
      }
      return c.body(body, 200, JSON_HEADERS);
    },
  };
}
