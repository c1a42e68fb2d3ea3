// Two gateway processes, as an operator runs replicas behind a load balancer: one Redis (under a prefix of each
// test's own), one database, one stand-in upstream. What one process counts, the other sees: a key's RPM over a
// minute of load, a budget under a burst, a Redis outage in either fail mode, a revocation.
import { join } from 'node:path';
import { startStandInUpstream, type StandInBehaviour, type StandInUpstream } from '@gw/providers/testing';
import { Redis } from 'ioredis';
import { describe, expect, it, type TestContext } from 'vitest';
import { startTcpProxy, TEST_DIALECTS, type ScratchDatabase, type TestDialect } from '../ledger/test-helpers.ts';
import { chatBody, postJson, startGatewayProcess, TEST_VENDOR_KEY, type GatewayProcess } from '../test-helpers.ts';

const REDIS_URL = process.env['REDIS_URL'] ?? '';
const SKIP = REDIS_URL === '' ? 'REDIS_URL is not set (processes share limits only through a real Redis)' : undefined;
if (SKIP !== undefined) console.info(`multi-process limits skipped: ${SKIP}`);

const MASTER_KEY = 'gw-master-key-multi-process-0123456789';
const MASTER = { authorization: `Bearer ${MASTER_KEY}` };
const SQLITE = TEST_DIALECTS.find((dialect) => dialect.dialect === 'sqlite') as TestDialect;

type OnFinished = TestContext['onTestFinished'];

interface Pair {
  readonly a: GatewayProcess;
  readonly b: GatewayProcess;
  readonly upstream: StandInUpstream;
}

interface PairOptions {
  /** Default: a fresh SQLite file. */
  dialect?: TestDialect;
  /** `url` (default REDIS_URL) and the rest of the `redis` section. */
  redis?: { url?: string; timeoutMs?: number };
  /** Config sections besides the defaults (limits, budgets, pricing). */
  config?: Record<string, unknown>;
  upstream?: StandInBehaviour;
}

/** Deletes every Redis key under `prefix`. */
async function dropPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Starts the stand-in upstream and two gateway processes on one database and one Redis prefix; all go at the end. */
async function startPair(onFinished: OnFinished, options: PairOptions = {}): Promise<Pair> {
  const database: ScratchDatabase = await (options.dialect ?? SQLITE).create();
  onFinished(() => database.drop());
  const prefix = `gw-mp-${process.pid}-${Math.random().toString(36).slice(2, 10)}:`;
  onFinished(() => dropPrefix(prefix));
  const upstream = await startStandInUpstream(
    options.upstream === undefined ? {} : { defaultBehaviour: options.upstream },
  );
  onFinished(() => upstream.close());
  const configOf = (name: string): Record<string, unknown> => ({
    server: { host: '127.0.0.1', port: 0 },
    auth: { masterKey: MASTER_KEY },
    // A spill file per process, as every replica needs.
    storage: { url: database.url, spillPath: join(database.folder, `spill-${name}.jsonl`), flushIntervalMs: 20 },
    // Redis is shared with whatever else runs on this machine: a slow answer is not what these tests are about.
    redis: { url: REDIS_URL, timeoutMs: 1000, ...options.redis, prefix },
    logging: { requests: false },
    providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
    models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
    retry: { maxRetries: 0 },
    breaker: { enabled: false },
    ...options.config,
  });
  // One after the other: the first one migrates the fresh database.
  const a = await startGatewayProcess({ config: configOf('a') });
  onFinished(() => a.kill());
  const b = await startGatewayProcess({ config: configOf('b') });
  onFinished(() => b.kill());
  return { a, b, upstream };
}

async function admin(url: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}/admin${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...MASTER },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.status, `${method} /admin${path}`).toBeLessThan(300);
  return (await response.json()) as Record<string, unknown>;
}

async function createKey(url: string, settings: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const created = await admin(url, 'POST', '/keys', settings);
  return { id: String(created['id']), key: String(created['key']) };
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly code: string | undefined;
}

async function chat(url: string, key: string, extra: Record<string, unknown> = {}): Promise<Answer> {
  const response = await postJson(`${url}/v1/chat/completions`, chatBody('chat', extra), {
    authorization: `Bearer ${key}`,
  });
  const body = (await response.json()) as { error?: { code?: string } };
  return { status: response.status, headers: response.headers, code: body.error?.code };
}

function outageLines(gateway: GatewayProcess, message: string): number {
  return gateway.logLines().filter((line) => String(line['msg']).startsWith(message)).length;
}

/** Sends to `url` until `done` says the answer is the one awaited; fails past `timeoutMs`. */
async function pollUntil(
  send: () => Promise<Answer>,
  done: (answer: Answer) => boolean,
  timeoutMs: number,
): Promise<Answer> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const answer = await send();
    if (done(answer)) return answer;
    if (performance.now() > deadline) throw new Error(`still ${answer.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// The load of the RPM test: a request every 300 ms, alternating between the processes, for a bit over a minute.
const LOAD_MS = 66_000;
const INTERVAL_MS = 300;
const MINUTE_MS = 60_000;

describe.skipIf(SKIP !== undefined).concurrent('two gateway processes on one Redis', () => {
  it(
    'hold a key of 10 rpm to 10 ± 1 requests in every rolling minute of load spread over both',
    { timeout: 180_000 },
    async ({ expect, onTestFinished }) => {
      const { a, b } = await startPair(onTestFinished);
      const key = await createKey(a.url, { name: 'rpm', rpm: 10 });
      const sent: Array<Promise<Answer & { sentAt: number; receivedAt: number; by: 'a' | 'b' }>> = [];
      const start = performance.now();
      for (let index = 0; performance.now() - start < LOAD_MS; index += 1) {
        const by = index % 2 === 0 ? 'a' : 'b';
        const sentAt = performance.now();
        sent.push(
          chat(by === 'a' ? a.url : b.url, key.key).then((answer) => ({
            ...answer,
            sentAt,
            receivedAt: performance.now(),
            by,
          })),
        );
        await new Promise((resolve) => setTimeout(resolve, start + (index + 1) * INTERVAL_MS - performance.now()));
      }
      const answers = (await Promise.all(sent)).sort((x, y) => x.sentAt - y.sentAt);

      expect(new Set(answers.map((answer) => answer.status))).toEqual(new Set([200, 429]));
      const admitted = answers.filter((answer) => answer.status === 200);
      // Both processes let requests through: the limit is one, not one per process.
      expect(new Set(admitted.map((answer) => answer.by))).toEqual(new Set(['a', 'b']));
      for (const answer of admitted) expect(answer.headers.get('x-ratelimit-limit-requests')).toBe('10');
      for (const refused of answers.filter((answer) => answer.status === 429)) {
        expect(refused.code).toBe('rate_limit_exceeded');
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60);
        expect(refused.headers.get('x-ratelimit-limit-requests')).toBe('10');
        expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
        expect(refused.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+s$/);
      }

      // A request is decided somewhere between its sending and its answer; the checks below hold for any such times,
      // with the ±1 the limit is allowed. At most 11 per minute: no 12 admitted requests fit in a minute from the
      // first one's sending to the last one's answer.
      for (let first = 0; first + 11 < admitted.length; first += 1) {
        const group = admitted.slice(first, first + 12);
        const span = Math.max(...group.map((answer) => answer.receivedAt)) - (group[0]?.sentAt ?? 0);
        expect(span, `12 requests admitted within ${Math.round(span)} ms`).toBeGreaterThanOrEqual(MINUTE_MS);
      }
      // At least 9: no request was refused while fewer than 9 could have been admitted in the minute before it.
      for (const refused of answers.filter((answer) => answer.status === 429)) {
        const before = admitted.filter(
          (answer) => answer.sentAt <= refused.receivedAt && answer.receivedAt >= refused.sentAt - MINUTE_MS,
        ).length;
        expect(
          before,
          `admitted in the minute before a refusal at ${Math.round(refused.sentAt - start)} ms`,
        ).toBeGreaterThanOrEqual(9);
      }
    },
  );

  for (const dialect of TEST_DIALECTS) {
    it.skipIf(dialect.skip !== undefined)(
      `spend a budget worth N requests under 5N concurrent ones exactly once, on ${dialect.dialect}`,
      { timeout: 90_000 },
      async ({ expect, onTestFinished }) => {
        // The prompt is free and the answer is max_tokens long, so the worst case reserved is exactly what a request
        // costs: 100 output tokens at 10 USD per million, 0.001 USD; the budget holds exactly N of them.
        const requests = 10;
        const { a, b, upstream } = await startPair(onTestFinished, {
          dialect,
          config: { pricing: { models: { 'up/gpt-4o-mini': { input: 0, output: 10 } } } },
          upstream: { type: 'chat', usage: { prompt_tokens: 12, completion_tokens: 100 }, delayMs: 30 },
        });
        const key = await createKey(a.url, { name: 'budget', budget: { amount: requests * 0.001, period: 'total' } });

        const answers = await Promise.all(
          Array.from({ length: 5 * requests }, (_, index) =>
            chat(index % 2 === 0 ? a.url : b.url, key.key, { max_tokens: 100 }),
          ),
        );
        const ok = answers.filter((answer) => answer.status === 200);
        const refused = answers.filter((answer) => answer.status !== 200);
        expect(ok).toHaveLength(requests);
        for (const answer of refused) expect([answer.status, answer.code]).toEqual([402, 'budget_exceeded']);
        // Every refusal was made before the upstream was called.
        expect(upstream.requests.filter((request) => request.path === '/v1/chat/completions')).toHaveLength(ok.length);

        // The budget store (Redis, as both processes see it) and the ledger (the database) agree, at the budget.
        const spentOn = async (url: string): Promise<unknown> =>
          ((await admin(url, 'GET', `/keys/${key.id}`))['spend'] as { amount?: unknown } | null)?.amount;
        const ledgerSum = async (): Promise<unknown> => {
          const usage = (await admin(a.url, 'GET', '/usage?group_by=key'))['data'] as Array<Record<string, unknown>>;
          const row = usage.find((group) => group['key_id'] === key.id);
          return row === undefined ? undefined : [row['requests'], row['cost']];
        };
        await expect.poll(ledgerSum, { timeout: 10_000 }).toEqual([requests, requests * 0.001]);
        await expect.poll(() => spentOn(a.url), { timeout: 10_000 }).toBe(requests * 0.001);
        expect(await spentOn(b.url)).toBe(requests * 0.001);
      },
    );
  }

  for (const failMode of ['open', 'closed'] as const) {
    it(
      `follow failMode ${failMode} while Redis is unreachable, log the outage once, and limit again once it is back`,
      { timeout: 90_000 },
      async ({ expect, onTestFinished }) => {
        const target = new URL(REDIS_URL);
        const proxy = await startTcpProxy(target.hostname, Number(target.port || 6379));
        onTestFinished(() => proxy.close());
        const proxied = new URL(REDIS_URL);
        proxied.hostname = '127.0.0.1';
        proxied.port = String(proxy.port);
        const { a, b } = await startPair(onTestFinished, {
          // The relay runs in this busy test process: a slow relay is not the outage under test.
          redis: { url: proxied.toString(), timeoutMs: 2000 },
          config: { limits: { failMode }, budgets: { failMode } },
        });
        const limited = await createKey(a.url, { name: 'limited', rpm: 3 });
        const plain = await createKey(a.url, { name: 'plain' });
        const send = (gateway: GatewayProcess, key = limited.key) => chat(gateway.url, key);

        // The limit is shared: three requests through either process, then a refusal on both.
        expect((await Promise.all([send(a), send(b), send(a)])).map((answer) => answer.status)).toEqual([
          200, 200, 200,
        ]);
        expect((await send(b)).status).toBe(429);
        expect((await send(a)).status).toBe(429);
        expect((await send(b, plain.key)).status).toBe(200);

        await proxy.cut();
        const during: Answer[] = [];
        for (let round = 0; round < 4; round += 1) during.push(await send(a), await send(b));
        if (failMode === 'open') {
          // Uncounted, so even the key at its limit goes through.
          expect(during.map((answer) => answer.status)).toEqual(during.map(() => 200));
        } else {
          for (const answer of during) expect([answer.status, answer.code]).toEqual([503, 'rate_limits_unavailable']);
          expect(during[0]?.headers.get('retry-after')).toBe('1');
        }
        // Logged once per process for the whole outage, however many requests met it (the connection's line comes
        // with its first failed reconnect).
        for (const gateway of [a, b]) {
          await expect.poll(() => outageLines(gateway, 'rate limits cannot reach redis')).toBe(1);
          await expect.poll(() => outageLines(gateway, 'redis is unreachable')).toBe(1);
        }
        for (let round = 0; round < 4; round += 1) during.push(await send(a), await send(b));
        for (const gateway of [a, b]) {
          expect(outageLines(gateway, 'rate limits cannot reach redis')).toBe(1);
          expect(outageLines(gateway, 'redis is unreachable')).toBe(1);
        }

        // Key changes cannot be pushed while Redis is away: a revocation still reaches the other process within a
        // second, read from the database.
        await admin(a.url, 'DELETE', `/keys/${plain.id}`);
        const refused = await pollUntil(
          () => send(b, plain.key),
          (answer) => answer.status === 401,
          1000,
        );
        expect(refused.code).toBe('invalid_api_key');

        await proxy.restore();
        // Without a restart, the key is held to its limit again on both processes.
        for (const gateway of [a, b]) {
          const answer = await pollUntil(
            () => send(gateway),
            (candidate) => candidate.status === 429,
            20_000,
          );
          expect(answer.headers.get('x-ratelimit-limit-requests')).toBe('3');
          await expect.poll(() => outageLines(gateway, 'rate limits reach redis again')).toBe(1);
        }
      },
    );
  }

  it(
    'refuse a key revoked on one process on the other within a second',
    { timeout: 60_000 },
    async ({ expect, onTestFinished }) => {
      const { a, b } = await startPair(onTestFinished);
      const key = await createKey(a.url, { name: 'revoked' });
      // The second process has the key cached.
      expect((await chat(b.url, key.key)).status).toBe(200);
      expect((await chat(b.url, key.key)).status).toBe(200);
      await admin(a.url, 'DELETE', `/keys/${key.id}`);
      const refused = await pollUntil(
        () => chat(b.url, key.key),
        (answer) => answer.status === 401,
        1000,
      );
      expect(refused.code).toBe('invalid_api_key');
      expect((await chat(a.url, key.key)).status).toBe(401);
    },
  );
});
