// Virtual keys through a running gateway, on SQLite and on PostgreSQL: created with the admin API, used by the
// official SDKs, held to their models, revoked everywhere within a second, and never stored in clear.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { thrownBy, waitFor } from '@gw/test-kit';
import { sql } from 'kysely';
import OpenAI, { AuthenticationError, PermissionDeniedError } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { openLedgerDatabase } from '../ledger/ledger-database.ts';
import { announceSkip, TEST_DIALECTS, type ScratchDatabase } from '../ledger/test-helpers.ts';
import { chatBody, postJson, startTestGateway, TEST_VENDOR_KEY, type TestGateway } from '../test-helpers.ts';

const MASTER_KEY = 'gw-master-key-keys-test-0123456789';
const MASTER = { authorization: `Bearer ${MASTER_KEY}` };

interface KeyJson {
  id: string;
  key?: string;
  name: string;
  prefix: string;
  models: string[] | null;
  rpm: number | null;
  budget: { amount: number; period: string; currency: string } | null;
  expires_at: string | null;
  revoked_at: string | null;
}

function configFor(scratch: ScratchDatabase) {
  return (upstream: { baseUrl: string }) => ({
    auth: { masterKey: MASTER_KEY },
    storage: { url: scratch.url, spillPath: join(scratch.folder, 'spill.jsonl'), flushIntervalMs: 20 },
    logging: { requests: false },
    providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
    models: [
      { name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] },
      { name: 'other', targets: [{ provider: 'up', model: 'gpt-4o' }] },
    ],
    retry: { maxRetries: 0 },
    breaker: { enabled: false },
  });
}

async function admin(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = MASTER,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${url}/admin${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function createKey(url: string, body: Record<string, unknown>): Promise<KeyJson & { key: string }> {
  const { status, json } = await admin(url, 'POST', '/keys', body);
  expect(status).toBe(201);
  return json as unknown as KeyJson & { key: string };
}

const opened: TestGateway[] = [];
let scratch: ScratchDatabase | undefined;
afterEach(async () => {
  await Promise.all(opened.splice(0).map((gateway) => gateway.close()));
  await scratch?.drop();
  scratch = undefined;
});

async function start(database: ScratchDatabase): Promise<TestGateway> {
  const gateway = await startTestGateway({ config: configFor(database) });
  opened.push(gateway);
  return gateway;
}

for (const dialect of TEST_DIALECTS) {
  announceSkip(dialect, 'virtual keys');
  describe.skipIf(dialect.skip !== undefined)(`virtual keys on ${dialect.dialect}`, () => {
    it('creates a key the openai SDK works with, shows its secret once and keeps only its SHA-256', async () => {
      scratch = await dialect.create();
      const t = await start(scratch);
      const created = await createKey(t.url, { name: 'app', models: ['chat'], metadata: { team: 'search' } });
      expect(created.key).toMatch(/^sk-gw-[\w-]{43}$/);
      expect(created.id).toMatch(/^key_[0-9a-f]{32}$/);
      expect(created.prefix).toBe(created.key.slice(0, 12));

      const client = new OpenAI({ apiKey: created.key, baseURL: `${t.url}/v1`, maxRetries: 0 });
      const completion = await client.chat.completions.create({
        model: 'chat',
        messages: [{ role: 'user', content: 'Say hi' }],
      });
      expect(completion.choices[0]?.message.content).toBeTruthy();
      // The vendor gets the vendor key, never the client's.
      expect(t.upstream.requests.at(-1)?.headers['authorization']).toBe(`Bearer ${TEST_VENDOR_KEY}`);

      // The secret is never shown again.
      const listed = await admin(t.url, 'GET', '/keys');
      expect(JSON.stringify(listed.json)).not.toContain(created.key);
      const one = await admin(t.url, 'GET', `/keys/${created.id}`);
      expect(one.json).toMatchObject({ id: created.id, name: 'app', models: ['chat'], metadata: { team: 'search' } });
      expect(one.json['key']).toBeUndefined();

      // The table holds the hash and the display prefix, nothing from which the key can be read.
      const database = await openLedgerDatabase(scratch.url, { migrate: false });
      try {
        const rows = await sql<Record<string, unknown>>`select * from api_keys`.execute(database.db);
        expect(rows.rows).toHaveLength(1);
        const stored = JSON.stringify(rows.rows, (_key, value: unknown) =>
          typeof value === 'bigint' ? value.toString() : value,
        );
        expect(stored).not.toContain(created.key);
        expect(stored).not.toContain(created.key.slice(12));
        expect(rows.rows[0]?.['key_hash']).toBe(createHash('sha256').update(created.key).digest('hex'));
      } finally {
        await database.close();
      }

      // The ledger records the key on its rows, and usage groups by it.
      const url = t.url;
      await waitFor(async () => {
        const page = (await (await fetch(`${url}/admin/requests?key=${created.id}`, { headers: MASTER })).json()) as {
          data: unknown[];
        };
        return page.data.length === 1;
      }, 5000);
      const usage = await admin(t.url, 'GET', '/usage?group_by=key');
      expect(JSON.stringify(usage.json)).toContain(created.id);
    });

    it('holds a key to its models (403) and refuses revoked, expired and unknown keys (401) on both APIs', async () => {
      scratch = await dialect.create();
      const t = await start(scratch);
      const key = await createKey(t.url, { name: 'narrow', models: ['chat'] });
      const openai = new OpenAI({ apiKey: key.key, baseURL: `${t.url}/v1`, maxRetries: 0 });
      const anthropic = new Anthropic({ apiKey: key.key, baseURL: t.url, maxRetries: 0 });

      const denied = await thrownBy(() =>
        openai.chat.completions.create({ model: 'other', messages: [{ role: 'user', content: 'hi' }] }),
      );
      expect(denied).toBeInstanceOf(PermissionDeniedError);
      expect((denied as PermissionDeniedError).code).toBe('model_not_allowed');
      const upstreamCalls = t.upstream.requests.length;

      // x-api-key (Anthropic clients) works like Bearer.
      const message = await anthropic.messages.create({
        model: 'chat',
        max_tokens: 50,
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(message.content[0]?.type).toBe('text');
      expect(t.upstream.requests.length).toBe(upstreamCalls + 1);

      const revoked = await admin(t.url, 'DELETE', `/keys/${key.id}`);
      expect(revoked.status).toBe(200);
      expect(revoked.json['revoked_at']).toEqual(expect.any(String));
      const refused = await thrownBy(() =>
        openai.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
      );
      expect(refused).toBeInstanceOf(AuthenticationError);
      expect((refused as AuthenticationError).code).toBe('invalid_api_key');
      const viaAnthropic = await postJson(
        `${t.url}/v1/messages`,
        { model: 'chat', max_tokens: 5, messages: [] },
        {
          'x-api-key': key.key,
        },
      );
      expect(viaAnthropic.status).toBe(401);
      expect(((await viaAnthropic.json()) as { type: string }).type).toBe('error');

      const expired = await createKey(t.url, { name: 'old', expires_at: new Date(Date.now() - 1000).toISOString() });
      const late = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'), {
        authorization: `Bearer ${expired.key}`,
      });
      expect(late.status).toBe(401);
      expect(((await late.json()) as { error: { message: string } }).error.message).toContain('expired');

      const unknown = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'), {
        authorization: `Bearer sk-gw-${'A'.repeat(43)}`,
      });
      expect(unknown.status).toBe(401);
      // Nothing refused reached the upstream.
      expect(t.upstream.requests.length).toBe(upstreamCalls + 1);
    });

    it('a revocation made on one gateway is refused by a second one on the same database within a second', async () => {
      scratch = await dialect.create();
      const first = await start(scratch);
      const second = await start(scratch);
      const key = await createKey(first.url, { name: 'shared' });
      const call = (url: string) =>
        postJson(`${url}/v1/chat/completions`, chatBody('chat'), { authorization: `Bearer ${key.key}` });
      // The second gateway has the key cached.
      expect((await call(second.url)).status).toBe(200);
      expect((await call(second.url)).status).toBe(200);
      expect((await admin(first.url, 'DELETE', `/keys/${key.id}`)).status).toBe(200);
      const revokedAt = performance.now();
      await waitFor(async () => (await call(second.url)).status === 401, 1000);
      expect(performance.now() - revokedAt).toBeLessThan(1500);
      // And a change (a model list) reaches it the same way.
      const other = await createKey(first.url, { name: 'other' });
      const otherCall = () =>
        postJson(`${second.url}/v1/chat/completions`, chatBody('chat'), { authorization: `Bearer ${other.key}` });
      expect((await otherCall()).status).toBe(200);
      expect((await admin(first.url, 'PATCH', `/keys/${other.id}`, { models: ['other'] })).status).toBe(200);
      await waitFor(async () => (await otherCall()).status === 403, 1000);
    });

    it('keeps /admin/keys to the master key and refuses bad input by field', async () => {
      scratch = await dialect.create();
      const t = await start(scratch);
      const key = await createKey(t.url, { name: 'user' });
      expect((await admin(t.url, 'GET', '/keys', undefined, {})).status).toBe(401);
      expect((await admin(t.url, 'GET', '/keys', undefined, { authorization: `Bearer ${key.key}` })).status).toBe(401);
      const bad = await admin(t.url, 'POST', '/keys', { name: 'x', rpm: -1, budget: { amount: 5, period: 'week' } });
      expect(bad.status).toBe(400);
      expect(JSON.stringify(bad.json)).toMatch(/rpm|budget/);
      expect((await admin(t.url, 'POST', '/keys', { rpm: 5 })).status).toBe(400);
      expect((await admin(t.url, 'GET', '/keys/key_nope')).status).toBe(404);
      const patched = await admin(t.url, 'PATCH', `/keys/${key.id}`, {
        rpm: 10,
        budget: { amount: 2.5, period: 'month' },
      });
      expect(patched.json).toMatchObject({ rpm: 10, budget: { amount: 2.5, period: 'month', currency: 'USD' } });
      const cleared = await admin(t.url, 'PATCH', `/keys/${key.id}`, { rpm: null });
      expect(cleared.json['rpm']).toBeNull();
      // A TPM beyond 32 bits (a large tier) is stored and read back exactly.
      const large = await admin(t.url, 'PATCH', `/keys/${key.id}`, { tpm: 5_000_000_000 });
      expect(large.status).toBe(200);
      expect((await admin(t.url, 'GET', `/keys/${key.id}`)).json['tpm']).toBe(5_000_000_000);
    });
  });
}
