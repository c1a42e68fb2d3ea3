// Providers added through the admin API, on SQLite and PostgreSQL: they serve requests as soon as they are added,
// their vendor keys are sealed in the table and masked in every answer, and they survive a restart.
import { join } from 'node:path';
import type { StandInUpstream } from '@gw/providers/testing';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openLedgerDatabase } from '../../ledger/ledger-database.ts';
import { announceSkip, TEST_DIALECTS, type ScratchDatabase } from '../../ledger/test-helpers.ts';
import { chatBody, postJson, startTestGateway, TEST_VENDOR_KEY, type TestGateway } from '../../test-helpers.ts';

const MASTER_KEY = 'admin-providers-master-key-0123456789';
const MASTER = { authorization: `Bearer ${MASTER_KEY}` };
const SECRET_KEY = 'gw-secret-key-for-tests-0123456789abcdef';
const STORED_KEY = 'sk-stored-vendor-key-abcdefghijklmnop';

function configFor(scratch: ScratchDatabase) {
  return (upstream: StandInUpstream) => ({
    auth: { masterKey: MASTER_KEY },
    storage: { url: scratch.url, spillPath: join(scratch.folder, 'spill.jsonl') },
    logging: { requests: false },
    providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
    models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
    retry: { maxRetries: 0 },
  });
}

async function admin(
  url: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${url}/admin${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...MASTER },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function chat(url: string, model: string): Promise<number> {
  const response = await postJson(`${url}/v1/chat/completions`, chatBody(model), MASTER);
  await response.text();
  return response.status;
}

const opened: TestGateway[] = [];
let scratch: ScratchDatabase | undefined;
afterEach(async () => {
  await Promise.all(opened.splice(0).map((gateway) => gateway.close()));
  await scratch?.drop();
  scratch = undefined;
});

async function start(database: ScratchDatabase, secretKey: string | undefined): Promise<TestGateway> {
  const gateway = await startTestGateway({
    config: configFor(database),
    ...(secretKey === undefined ? {} : { secretKey }),
  });
  opened.push(gateway);
  return gateway;
}

async function stop(gateway: TestGateway): Promise<void> {
  opened.splice(opened.indexOf(gateway), 1);
  await gateway.close();
}

async function storedRows(url: string): Promise<string> {
  const database = await openLedgerDatabase(url, { migrate: false });
  try {
    const rows = await sql<Record<string, unknown>>`select * from providers`.execute(database.db);
    return JSON.stringify(rows.rows, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  } finally {
    await database.close();
  }
}

for (const dialect of TEST_DIALECTS) {
  announceSkip(dialect, 'stored providers');
  describe.skipIf(dialect.skip !== undefined)(`stored providers on ${dialect.dialect}`, () => {
    it('serves a provider as soon as it is added, with its key sealed in the table and masked in answers', async () => {
      scratch = await dialect.create();
      const t = await start(scratch, SECRET_KEY);
      expect(await chat(t.url, 'eu/gpt-4o-mini')).toBe(404);

      const created = await admin(t.url, 'POST', '/providers', {
        id: 'eu',
        kind: 'openai',
        api_key: STORED_KEY,
        base_url: t.upstream.baseUrl,
        max_concurrency: 2,
        headers: { 'x-tenant': 'tenant-header-secret-0123' },
      });
      expect(created.status).toBe(201);
      expect(created.json).toMatchObject({
        id: 'eu',
        source: 'database',
        status: 'enabled',
        kind: 'openai',
        api_key: 'sk-…mnop',
        max_concurrency: 2,
        headers: { 'x-tenant': 'ten…0123' },
      });

      expect(await chat(t.url, 'eu/gpt-4o-mini')).toBe(200);
      const sent = t.upstream.requests.at(-1);
      expect(sent?.headers['authorization']).toBe(`Bearer ${STORED_KEY}`);
      expect(sent?.headers['x-tenant']).toBe('tenant-header-secret-0123');

      const listed = await admin(t.url, 'GET', '/providers');
      const text = JSON.stringify(listed.json);
      for (const secret of [STORED_KEY, TEST_VENDOR_KEY, 'tenant-header-secret-0123'])
        expect(text).not.toContain(secret);
      expect(listed.json['data']).toEqual([
        expect.objectContaining({ id: 'up', source: 'file', status: 'enabled', api_key: 'sk-…cdef' }),
        expect.objectContaining({ id: 'eu', source: 'database', status: 'enabled' }),
      ]);

      const rows = await storedRows(scratch.url);
      expect(rows).toContain('"id":"eu"');
      expect(rows).toContain('v1:');
      for (const secret of [STORED_KEY, STORED_KEY.slice(-12), 'tenant-header-secret-0123']) {
        expect(rows).not.toContain(secret);
      }
    });

    it('changes, tests, syncs and deletes a stored provider, and refuses what it must', async () => {
      scratch = await dialect.create();
      const t = await start(scratch, SECRET_KEY);
      const body = { id: 'eu', kind: 'openai', api_key: STORED_KEY, base_url: t.upstream.baseUrl };
      expect((await admin(t.url, 'POST', '/providers', body)).status).toBe(201);

      const taken = await admin(t.url, 'POST', '/providers', body);
      expect(taken).toMatchObject({ status: 409, json: { error: { code: 'provider_exists' } } });
      const inFile = await admin(t.url, 'POST', '/providers', { ...body, id: 'up' });
      expect(inFile).toMatchObject({ status: 409, json: { error: { code: 'provider_in_file' } } });
      const invalid = await admin(t.url, 'POST', '/providers', { ...body, id: 'bad', max_concurrency: 0 });
      expect(invalid).toMatchObject({ status: 400, json: { error: { param: 'max_concurrency' } } });
      const unknownKind = await admin(t.url, 'POST', '/providers', { ...body, id: 'bad', kind: 'nope' });
      expect(unknownKind).toMatchObject({ status: 400, json: { error: { param: 'kind' } } });

      const rotated = await admin(t.url, 'PATCH', '/providers/eu', {
        api_key: 'sk-rotated-vendor-key-0123456789abcd',
        max_concurrency: 1,
      });
      expect(rotated).toMatchObject({ status: 200, json: { api_key: 'sk-…abcd', max_concurrency: 1 } });
      expect(await chat(t.url, 'eu/gpt-4o-mini')).toBe(200);
      expect(t.upstream.requests.at(-1)?.headers['authorization']).toBe('Bearer sk-rotated-vendor-key-0123456789abcd');
      expect((await admin(t.url, 'GET', '/queues')).json).toMatchObject({
        data: [{ provider: 'eu', max_concurrency: 1 }],
      });
      expect((await admin(t.url, 'PATCH', '/providers/eu', { max_concurrency: null })).json).not.toHaveProperty(
        'max_concurrency',
      );
      expect((await admin(t.url, 'PATCH', '/providers/up', { max_concurrency: 1 })).status).toBe(409);

      const tested = await admin(t.url, 'POST', '/providers/eu/test');
      expect(tested.json).toMatchObject({ id: 'eu', ok: true, error: null });
      expect(typeof tested.json['latency_ms']).toBe('number');
      const synced = await admin(t.url, 'POST', '/providers/eu/sync-models');
      expect(synced.json).toMatchObject({ id: 'eu', models: ['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small'] });
      expect((await admin(t.url, 'GET', '/providers/eu')).json).toMatchObject({
        synced_models: ['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small'],
      });

      t.upstream.enqueue({ type: 'error', status: 401 });
      expect((await admin(t.url, 'POST', '/providers/eu/test')).json).toMatchObject({
        ok: false,
        error: { kind: 'authentication' },
      });

      expect((await admin(t.url, 'DELETE', '/providers/eu')).status).toBe(200);
      expect(await chat(t.url, 'eu/gpt-4o-mini')).toBe(404);
      expect((await admin(t.url, 'GET', '/providers/eu')).status).toBe(404);
      expect((await admin(t.url, 'DELETE', '/providers/eu')).status).toBe(404);
    });

    it('keeps stored providers across a restart, and not with another GW_SECRET_KEY or none', async () => {
      scratch = await dialect.create();
      const first = await start(scratch, SECRET_KEY);
      const body = { id: 'eu', kind: 'openai', api_key: STORED_KEY, base_url: first.upstream.baseUrl };
      expect((await admin(first.url, 'POST', '/providers', body)).status).toBe(201);
      await stop(first);

      const again = await start(scratch, SECRET_KEY);
      // The stored base URL is the first stand-in's, gone now: the provider is there, and its calls fail upstream.
      expect((await admin(again.url, 'GET', '/providers/eu')).json).toMatchObject({ status: 'enabled' });
      await stop(again);

      const otherKey = await start(scratch, 'another-secret-key-for-tests-0123456789');
      expect((await admin(otherKey.url, 'GET', '/providers/eu')).json).toMatchObject({
        status: 'unusable',
        reason: 'its keys do not open with this GW_SECRET_KEY',
      });
      expect(await chat(otherKey.url, 'eu/gpt-4o-mini')).toBe(404);
      await stop(otherKey);

      const none = await start(scratch, undefined);
      expect((await admin(none.url, 'GET', '/providers/eu')).json).toMatchObject({ status: 'unusable' });
      const refused = await admin(none.url, 'POST', '/providers', { ...body, id: 'us' });
      expect(refused.status).toBe(503);
      expect(refused.json).toMatchObject({ error: { code: 'secret_key_unset' } });
      expect(JSON.stringify(refused.json)).toContain('GW_SECRET_KEY');
      // A provider without a secret needs no GW_SECRET_KEY.
      const keyless = await admin(none.url, 'POST', '/providers', {
        id: 'local',
        kind: 'ollama',
        base_url: none.upstream.baseUrl,
      });
      expect(keyless).toMatchObject({ status: 201, json: { status: 'enabled' } });
    });
  });
}
