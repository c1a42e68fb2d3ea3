// GET /v1/models and GET /v1/models/{id} over real HTTP, read by the openai SDK (`models.list`, `models.retrieve`),
// for the master key and for a virtual key held to a list of models.
import { join } from 'node:path';
import { thrownBy } from '@gw/test-kit';
import OpenAI, { NotFoundError } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_DIALECTS, type ScratchDatabase } from '../../ledger/test-helpers.ts';
import { gatewayPerTest, TEST_VENDOR_KEY } from '../../test-helpers.ts';

const MASTER_KEY = 'gw-master-key-models-test-0123456789';
const start = gatewayPerTest();

function configOf(upstream: { baseUrl: string }, storage?: ScratchDatabase): Record<string, unknown> {
  return {
    auth: { masterKey: MASTER_KEY },
    ...(storage === undefined
      ? {}
      : { storage: { url: storage.url, spillPath: join(storage.folder, 'spill.jsonl'), flushIntervalMs: 20 } }),
    providers: [
      { id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl },
      { id: 'claude', kind: 'anthropic', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl },
    ],
    models: [
      { name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] },
      { name: 'other', targets: [{ provider: 'up', model: 'gpt-4o' }] },
      { name: 'sonnet', targets: [{ provider: 'claude', model: 'claude-sonnet-4-5' }] },
    ],
  };
}

function client(url: string, apiKey = MASTER_KEY): OpenAI {
  return new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0, timeout: 10_000 });
}

describe('GET /v1/models/{id}', () => {
  it('models.retrieve answers every id models.list gives, aliases and provider-id/model alike, for OpenAI and Anthropic targets', async () => {
    const t = await start({ config: (upstream) => configOf(upstream) });
    const openai = client(t.url);
    const listed = [];
    for await (const model of openai.models.list()) listed.push(model);
    expect(listed.map((model) => model.id)).toEqual([
      'chat',
      'other',
      'sonnet',
      'up/gpt-4o-mini',
      'up/gpt-4o',
      'claude/claude-sonnet-4-5',
    ]);
    for (const model of listed) expect(await openai.models.retrieve(model.id)).toEqual(model);
  });

  it('reads a provider-id/model id with its slash as sent or encoded', async () => {
    const t = await start({ config: (upstream) => configOf(upstream) });
    for (const path of ['up/gpt-4o', 'up%2Fgpt-4o']) {
      const response = await fetch(`${t.url}/v1/models/${path}`, {
        headers: { authorization: `Bearer ${MASTER_KEY}` },
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ id: 'up/gpt-4o', object: 'model', owned_by: 'gw' });
    }
  });

  it('an unknown id is a 404 model_not_found in the OpenAI envelope; no key is a 401; POST is a 405', async () => {
    const t = await start({ config: (upstream) => configOf(upstream) });
    const error = await thrownBy(() => client(t.url).models.retrieve('gpt-5-imaginary'));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ status: 404, code: 'model_not_found', type: 'invalid_request_error' });
    // A model the upstream serves but the gateway does not route is unknown here too.
    const unrouted = await fetch(`${t.url}/v1/models/up/text-embedding-3-small`, {
      headers: { authorization: `Bearer ${MASTER_KEY}` },
    });
    expect(unrouted.status).toBe(404);
    expect(await unrouted.json()).toMatchObject({ error: { code: 'model_not_found', param: 'model' } });

    expect((await fetch(`${t.url}/v1/models/chat`)).status).toBe(401);
    const post = await fetch(`${t.url}/v1/models/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}` },
    });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(t.upstream.requests).toHaveLength(0);
  });
});

describe('a virtual key held to a list of models', () => {
  let scratch: ScratchDatabase | undefined;
  afterEach(async () => {
    await scratch?.drop();
    scratch = undefined;
  });

  it('lists and retrieves only its models; the others are 404 as if unknown', async () => {
    const sqlite = TEST_DIALECTS.find((dialect) => dialect.dialect === 'sqlite');
    scratch = await sqlite?.create();
    const storage = scratch;
    const t = await start({ config: (upstream) => configOf(upstream, storage) });
    const created = await fetch(`${t.url}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'app', models: ['chat', 'up/gpt-4o'] }),
    });
    expect(created.status).toBe(201);
    const { key } = (await created.json()) as { key: string };
    const openai = client(t.url, key);
    const listed = [];
    for await (const model of openai.models.list()) listed.push(model.id);
    expect(listed).toEqual(['chat', 'up/gpt-4o']);
    expect((await openai.models.retrieve('up/gpt-4o')).id).toBe('up/gpt-4o');
    const error = await thrownBy(() => openai.models.retrieve('other'));
    expect(error).toMatchObject({ status: 404, code: 'model_not_found' });
  });
});
