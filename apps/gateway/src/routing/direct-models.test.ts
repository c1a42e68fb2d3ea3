import { startStandInUpstream, type StandInUpstream } from '@gw/providers/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  chatBody,
  gatewayPerTest,
  NO_RETRIES,
  postJson,
  rssMbOf,
  startGatewayProcess,
  TEST_VENDOR_KEY,
  type GatewayProcess,
} from '../test-helpers.ts';

const start = gatewayPerTest();

function directConfig(extra: Record<string, unknown> = {}, provider: Record<string, unknown> = {}) {
  return (upstream: StandInUpstream) => ({
    providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl, ...provider }],
    ...NO_RETRIES,
    breaker: { enabled: true },
    ...extra,
  });
}

/** Sends `count` requests, `concurrency` at a time; returns the statuses. */
async function sendAll(count: number, concurrency: number, send: (index: number) => Promise<Response>) {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const index = next++;
        const response = await send(index);
        await response.arrayBuffer();
        statuses.push(response.status);
      }
    }),
  );
  return statuses;
}

describe('directly addressed models', () => {
  it('keeps state for the most recently used ones only, bounded in entries', async () => {
    const t = await start({ config: directConfig({ directModels: { maxEntries: 20 } }) });
    const statuses = await sendAll(200, 10, (index) =>
      postJson(`${t.url}/v1/chat/completions`, chatBody(`up/model-${index}`)),
    );
    expect(statuses.every((status) => status === 200)).toBe(true);
    const { routing } = t.gateway.state;
    expect(routing.directModels().entries).toBe(20);
    // The routers' and the breakers' state went with them.
    expect(routing.health()).toHaveLength(20);
    expect(t.gateway.state.healthView().breakers.length).toBeLessThanOrEqual(20);
    // A model used again is served as before (its state is built anew).
    expect((await postJson(`${t.url}/v1/chat/completions`, chatBody('up/model-0'))).status).toBe(200);
  });

  it('bounds them in bytes too', async () => {
    const t = await start({ config: directConfig({ directModels: { maxEntries: 10_000, maxBytes: '64kb' } }) });
    await sendAll(100, 10, (index) =>
      postJson(`${t.url}/v1/chat/completions`, chatBody(`up/${'m'.repeat(390)}-${index}`)),
    );
    const { entries, bytes } = t.gateway.state.routing.directModels();
    expect(bytes).toBeLessThanOrEqual(64 * 1024);
    expect(entries).toBeLessThan(100);
  });

  it('refuses a model name longer than server.maxModelNameLength with a 400 and no upstream call', async () => {
    const t = await start({ config: directConfig({ server: { maxModelNameLength: 50 } }) });
    const response = await postJson(`${t.url}/v1/chat/completions`, chatBody(`up/${'x'.repeat(60)}`));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: { type: 'invalid_request_error', code: 'model_name_too_long', param: 'model' },
    });
    expect(t.upstream.requests).toHaveLength(0);
    expect(t.gateway.state.routing.directModels().entries).toBe(0);
  });

  it('serves only the models a provider declares, when it declares them', async () => {
    const t = await start({ config: directConfig({}, { models: ['gpt-4o-mini'] }) });
    expect((await postJson(`${t.url}/v1/chat/completions`, chatBody('up/gpt-4o-mini'))).status).toBe(200);
    const other = await postJson(`${t.url}/v1/chat/completions`, chatBody('up/anything-else'));
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ error: { code: 'model_not_found' } });
    expect(t.upstream.requests).toHaveLength(1);
  });
});

// A real gateway process, its memory read from /proc: what a client sending ever new model names costs.
describe('memory under many unique model names', () => {
  let gateway: GatewayProcess | undefined;
  let upstream: StandInUpstream | undefined;
  afterEach(async () => {
    gateway?.kill();
    await upstream?.close();
    gateway = undefined;
    upstream = undefined;
  });

  async function startGatewayOnStandIn(): Promise<GatewayProcess> {
    upstream = await startStandInUpstream();
    gateway = await startGatewayProcess({
      config: {
        server: { port: 0 },
        // Nothing written to the repository's data folder: the ledger is not what this test is about.
        storage: { url: 'sqlite::memory:', ledger: false },
        logging: { level: 'error' },
        providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
      },
    });
    return gateway;
  }

  it.skipIf(process.platform !== 'linux')(
    'stays bounded: 1,600 names of 100 KB are refused, 3,000 names at the limit keep at most the configured state',
    async () => {
      const { url, child } = await startGatewayOnStandIn();
      const rssMb = (): number => rssMbOf(child.pid ?? 0);
      // Warm up (JIT, sockets) before the baseline.
      await sendAll(200, 20, (index) => postJson(`${url}/v1/chat/completions`, chatBody(`up/warm-${index}`)));
      const before = rssMb();
      const huge = await sendAll(1600, 20, (index) =>
        postJson(`${url}/v1/chat/completions`, chatBody(`up/${String(index).padStart(6, '0')}${'x'.repeat(100_000)}`)),
      );
      expect(huge.every((status) => status === 400)).toBe(true);
      const atLimit = await sendAll(3000, 20, (index) =>
        postJson(`${url}/v1/chat/completions`, chatBody(`up/${String(index).padStart(6, '0')}${'y'.repeat(390)}`)),
      );
      expect(atLimit.every((status) => status === 200)).toBe(true);
      const grown = rssMb() - before;
      // Unbounded, the 100 KB names alone grew a gateway by about 350 MB. Bounded, the growth measured 90-125 MB
      // on a shared machine (young generation and JIT code, not state): the bound sits between the two.
      expect(grown).toBeLessThan(200);
      expect((await fetch(`${url}/health/live`)).status).toBe(200);
    },
    120_000,
  );
});
