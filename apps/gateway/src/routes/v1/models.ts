import type { Handler } from 'hono';

/**
 * `GET /v1/models` in the OpenAI list format. The list only changes with the configuration, so
 * the body is serialised once here, not per request.
 *
 * @example
 * app.get('/v1/models', listModels(resolver.listModelIds(), Math.floor(Date.now() / 1000)));
 */
export function listModels(modelIds: readonly string[], created: number): Handler {
  const payload = JSON.stringify({
    object: 'list',
    data: modelIds.map((id) => ({ id, object: 'model', created, owned_by: 'gw' })),
  });
  return (c) => c.body(payload, 200, { 'content-type': 'application/json' });
}
