// Stored Responses in the gateway's database, on SQLite and on PostgreSQL: the store alone (round trip, retention),
// then through running gateways: a conversation started on one gateway continues on another process on the same
// database, and a stored Response outlives its gateway's restart.
import { join } from 'node:path';
import { responsesRequestSchema, toResponsesResponse } from '@gw/providers/formats';
import { thrownBy, waitFor } from '@gw/test-kit';
import OpenAI, { NotFoundError } from 'openai';
import type { FunctionTool } from 'openai/resources/responses/responses';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openLedgerDatabase, type LedgerDatabase } from '../../ledger/ledger-database.ts';
import { announceSkip, TEST_DIALECTS, type ScratchDatabase } from '../../ledger/test-helpers.ts';
import { gatewayMigrations } from '../../storage/migrations.ts';
import { NO_RETRIES, startTestGateway, TEST_VENDOR_KEY, type TestGateway } from '../../test-helpers.ts';
import type { StoredResponse } from './response-store.ts';
import { createSqlResponseStore } from './sql-response-store.ts';

const MASTER_KEY = 'gw-master-key-sql-responses-0123456789';
const DAY_MS = 86_400_000;
const WEATHER_ARGS = '{"city":"Paris"}';
const WEATHER_TOOL: FunctionTool = {
  type: 'function',
  name: 'get_weather',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: null,
};

function record(id: string, keyId?: string): StoredResponse {
  const request = responsesRequestSchema.parse({ model: 'chat', input: 'Hello' });
  const response = toResponsesResponse(
    {
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          message: {
            content: 'Let me look.',
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: WEATHER_ARGS } },
            ],
          },
        },
      ],
      usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
    },
    { id, model: 'chat', createdAt: 1_700_000_000, request },
  );
  return {
    response,
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'Hello ✓' }] },
      {
        role: 'assistant',
        content: 'Let me look.',
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: WEATHER_ARGS } }],
      },
    ],
    ...(keyId === undefined ? {} : { keyId }),
  };
}

const ledgerPage = z.object({
  data: z.array(
    z.looseObject({
      endpoint: z.string(),
      status: z.string(),
      provider: z.string(),
      cost_breakdown: z.looseObject({ total: z.string() }).nullable(),
    }),
  ),
});

const anthropicTurns = z.looseObject({
  messages: z.array(
    z.looseObject({ role: z.string(), content: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]) }),
  ),
});

for (const dialect of TEST_DIALECTS) {
  announceSkip(dialect, 'stored responses');
  describe.skipIf(dialect.skip !== undefined)(`stored responses on ${dialect.dialect}`, () => {
    let scratch: ScratchDatabase | undefined;
    let database: LedgerDatabase | undefined;
    const gateways: TestGateway[] = [];
    afterEach(async () => {
      await Promise.all(gateways.splice(0).map((gateway) => gateway.close()));
      await database?.close();
      database = undefined;
      await scratch?.drop();
      scratch = undefined;
    });

    async function open(): Promise<LedgerDatabase> {
      scratch = await dialect.create();
      database = await openLedgerDatabase(scratch.url, { migrations: gatewayMigrations });
      return database;
    }

    it('gives back what was put, key included; nothing for an id never put; a second put replaces', async () => {
      const store = createSqlResponseStore(await open(), { retentionDays: 30 });
      const stored = record('resp_a', 'key_1');
      await store.put(stored);
      expect(await store.get('resp_a')).toEqual(stored);
      expect(await store.get('resp_b')).toBeUndefined();
      await store.put(record('resp_master'));
      expect((await store.get('resp_master'))?.keyId).toBeUndefined();
      const replaced = { ...stored, messages: stored.messages.slice(0, 1) };
      await store.put(replaced);
      expect(await store.get('resp_a')).toEqual(replaced);
      await expect(store.get('resp_a', AbortSignal.abort(new Error('client left')))).rejects.toThrow('client left');
    });

    it('past retentionDays a record is no longer read, and prune deletes it; 0 keeps everything', async () => {
      let now = Date.UTC(2026, 0, 1);
      const db = await open();
      const store = createSqlResponseStore(db, { retentionDays: 30, now: () => now });
      const forever = createSqlResponseStore(db, { retentionDays: 0, now: () => now });
      await store.put(record('resp_old'));
      now += 20 * DAY_MS;
      await store.put(record('resp_new'));
      now += 11 * DAY_MS;
      expect(await store.get('resp_old')).toBeUndefined();
      expect(await forever.get('resp_old')).toBeDefined();
      expect(await forever.prune()).toBe(0);
      expect(await store.prune()).toBe(1);
      expect(await forever.get('resp_old')).toBeUndefined();
      expect(await store.get('resp_new')).toBeDefined();
    });

    it('a tool call round trip starts on one gateway and continues on another on the same database; it outlives a restart', async () => {
      scratch = await dialect.create();
      const storage = scratch;
      const start = async (): Promise<TestGateway> => {
        const gateway = await startTestGateway({
          config: (upstream) => ({
            auth: { masterKey: MASTER_KEY },
            storage: { url: storage.url, spillPath: join(storage.folder, 'spill.jsonl'), flushIntervalMs: 20 },
            providers: [{ id: 'claude', kind: 'anthropic', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
            models: [{ name: 'claude', targets: [{ provider: 'claude', model: 'claude-sonnet-4-5' }] }],
            ...NO_RETRIES,
          }),
        });
        gateways.push(gateway);
        return gateway;
      };
      const client = (gateway: TestGateway): OpenAI =>
        new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0, timeout: 10_000 });
      const [a, b] = [await start(), await start()];

      a.upstream.enqueue({
        type: 'chat',
        toolCalls: [{ id: 'call_w1', name: 'get_weather', arguments: WEATHER_ARGS }],
      });
      const first = await client(a).responses.create({
        model: 'claude',
        input: 'Weather in Paris?',
        tools: [WEATHER_TOOL],
      });
      expect(first.output).toMatchObject([{ type: 'function_call', call_id: 'call_w1', arguments: WEATHER_ARGS }]);

      b.upstream.enqueue({ type: 'chat', content: 'It is 18 degrees in Paris.' });
      const second = await client(b).responses.create({
        model: 'claude',
        previous_response_id: first.id,
        input: [{ type: 'function_call_output', call_id: 'call_w1', output: '{"temperature":18}' }],
        tools: [WEATHER_TOOL],
      });
      expect(second.output_text).toBe('It is 18 degrees in Paris.');
      // Gateway b sent the conversation gateway a had stored: the question, the tool call, its result.
      const sent = anthropicTurns.parse(b.upstream.requests[0]?.body).messages;
      expect(sent.map((message) => message.role)).toEqual(['user', 'assistant', 'user']);
      expect(JSON.stringify(sent)).toContain('"tool_use"');
      expect(JSON.stringify(sent)).toContain('"tool_result"');
      expect(await client(a).responses.retrieve(second.id)).toEqual(second);

      // Each call is one ledger row in the shared database, priced (claude-sonnet-4-5 is in the catalog).
      const ledger = async () => {
        const response = await fetch(`${a.url}/admin/requests?limit=10`, {
          headers: { authorization: `Bearer ${MASTER_KEY}` },
        });
        return ledgerPage.parse(await response.json()).data;
      };
      await waitFor(async () => (await ledger()).length === 2);
      const rows = await ledger();
      expect(rows).toHaveLength(2);
      for (const row of rows) {
        expect(row).toMatchObject({ endpoint: 'responses', status: 'completed', provider: 'claude' });
        expect(Number(row.cost_breakdown?.total)).toBeGreaterThan(0);
      }

      // Both gateways gone; a new one on the same database still has them.
      await Promise.all(gateways.splice(0).map((gateway) => gateway.close()));
      const c = await start();
      expect(await client(c).responses.retrieve(first.id)).toEqual(first);
      const error = await thrownBy(() => client(c).responses.retrieve('resp_never_stored'));
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error).toMatchObject({ code: 'response_not_found' });
    });

    it('a virtual key reads and continues only its own Responses; the master key reads them all', async () => {
      scratch = await dialect.create();
      const storage = scratch;
      const t = await startTestGateway({
        config: (upstream) => ({
          auth: { masterKey: MASTER_KEY },
          storage: { url: storage.url, spillPath: join(storage.folder, 'spill.jsonl'), flushIntervalMs: 20 },
          providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
          models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
          ...NO_RETRIES,
        }),
      });
      gateways.push(t);
      const keyOf = async (name: string): Promise<string> => {
        const response = await fetch(`${t.url}/admin/keys`, {
          method: 'POST',
          headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name }),
        });
        expect(response.status).toBe(201);
        return z.object({ key: z.string() }).parse(await response.json()).key;
      };
      const client = (apiKey: string): OpenAI =>
        new OpenAI({ baseURL: `${t.url}/v1`, apiKey, maxRetries: 0, timeout: 10_000 });
      const [alice, bob] = [client(await keyOf('alice')), client(await keyOf('bob'))];
      const mine = await alice.responses.create({ model: 'chat', input: 'Hello' });
      expect((await alice.responses.retrieve(mine.id)).id).toBe(mine.id);
      expect((await client(MASTER_KEY).responses.retrieve(mine.id)).id).toBe(mine.id);
      expect(await thrownBy(() => bob.responses.retrieve(mine.id))).toMatchObject({
        status: 404,
        code: 'response_not_found',
      });
      expect(
        await thrownBy(() => bob.responses.create({ model: 'chat', previous_response_id: mine.id, input: 'Hi' })),
      ).toMatchObject({ status: 404, code: 'previous_response_not_found' });
      expect(t.upstream.requests).toHaveLength(1);
    });
  });
}
