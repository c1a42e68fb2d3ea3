// Hot reload over HTTP: the gateway watches its file; a valid edit is live within moments, an invalid one is refused
// and reported, requests in flight finish on the routing they started with, and breakers of unchanged deployments
// stay as they were.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStandInUpstream, type StandInUpstream } from '@gw/providers/testing';
import { waitFor } from '@gw/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createLogger } from '../observability/logger.ts';
import { createServer, type GatewayServer } from '../server.ts';
import { chatBody, postJson, TEST_VENDOR_KEY } from '../test-helpers.ts';
import { loadConfig } from './load.ts';

const MASTER_KEY = 'reload-test-master-key-0123456789';
const MASTER = { authorization: `Bearer ${MASTER_KEY}` };

interface Running {
  url: string;
  file: string;
  upstream: StandInUpstream;
  gateway: GatewayServer;
  logs: string[];
}

let running: Running | undefined;
let folder: string | undefined;
afterEach(async () => {
  await running?.gateway.close();
  await running?.upstream.close();
  if (folder !== undefined) await rm(folder, { recursive: true, force: true });
  running = undefined;
  folder = undefined;
});

function yamlFor(upstream: StandInUpstream, models: Array<Record<string, unknown>>, extra = {}): string {
  return stringify({
    auth: { masterKey: MASTER_KEY },
    storage: { url: 'sqlite::memory:' },
    providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
    models,
    retry: { maxRetries: 0 },
    breaker: { threshold: 1, halfOpenAfterMs: 600_000 },
    ...extra,
  });
}

const CHAT = { name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] };
const OTHER = { name: 'other', targets: [{ provider: 'up', model: 'gpt-4o' }] };

async function startWatched(models: Array<Record<string, unknown>>): Promise<Running> {
  folder = await mkdtemp(join(tmpdir(), 'gw-reload-'));
  const file = join(folder, 'gateway.yaml');
  const upstream = await startStandInUpstream();
  await writeFile(file, yamlFor(upstream, models));
  const env = { GW_CONFIG: file };
  const { config, source } = await loadConfig({ env });
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', write: (line) => logs.push(line) });
  const gateway = await createServer({
    config,
    logger,
    host: '127.0.0.1',
    port: 0,
    env,
    configSource: source,
    watchConfig: true,
    secretKey: '',
  });
  running = { url: gateway.url, file, upstream, gateway, logs };
  return running;
}

async function modelIds(url: string): Promise<string[]> {
  const body = (await (await fetch(`${url}/v1/models`, { headers: MASTER })).json()) as { data: Array<{ id: string }> };
  return body.data.map((model) => model.id);
}

async function configView(url: string): Promise<Record<string, unknown>> {
  return (await (await fetch(`${url}/admin/config`, { headers: MASTER })).json()) as Record<string, unknown>;
}

describe('hot reload of the configuration file', () => {
  it('serves an alias added to the file within 2 s, and shows the reload in /admin/config and /metrics', async () => {
    const t = await startWatched([CHAT]);
    expect(await modelIds(t.url)).toEqual(['chat', 'up/gpt-4o-mini']);

    await writeFile(t.file, yamlFor(t.upstream, [CHAT, OTHER]));
    await waitFor(async () => (await modelIds(t.url)).includes('other'), 2000);
    const response = await postJson(`${t.url}/v1/chat/completions`, chatBody('other'), MASTER);
    expect(response.status).toBe(200);
    expect(t.upstream.requests.at(-1)?.body).toMatchObject({ model: 'gpt-4o' });

    expect(await configView(t.url)).toMatchObject({
      source: t.file,
      pending_restart: [],
      last_reload: { trigger: 'file', ok: true, error: null },
      config: { models: [{ name: 'chat' }, { name: 'other' }] },
    });
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toContain('llm_config_reloads_total{result="ok"} 1');
  });

  it('keeps the running configuration on a broken edit, and reports it', async () => {
    const t = await startWatched([CHAT]);
    await writeFile(
      t.file,
      yamlFor(t.upstream, [CHAT, { name: 'broken', targets: [{ provider: 'nope', model: 'x' }] }]),
    );
    await waitFor(async () => (await configView(t.url))['last_reload'] !== null, 2000);

    const view = await configView(t.url);
    expect(view).toMatchObject({ last_reload: { trigger: 'file', ok: false } });
    expect(JSON.stringify(view['last_reload'])).toContain('models[1].targets[0].provider');
    expect(view['config']).toMatchObject({ models: [{ name: 'chat' }] });
    expect(await modelIds(t.url)).toEqual(['chat', 'up/gpt-4o-mini']);
    expect((await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'), MASTER)).status).toBe(200);
    expect(t.logs.some((line) => line.includes('configuration reload refused'))).toBe(true);
    expect(await (await fetch(`${t.url}/metrics`)).text()).toContain('llm_config_reloads_total{result="error"} 1');

    // A YAML syntax error too; then a good file is taken again.
    await writeFile(t.file, 'models: [ {');
    await waitFor(async () => JSON.stringify((await configView(t.url))['last_reload']).includes('YAML syntax'), 2000);
    await writeFile(t.file, yamlFor(t.upstream, [CHAT, OTHER]));
    await waitFor(async () => (await modelIds(t.url)).includes('other'), 2000);
  });

  it('lets requests in flight finish on the routing they started with, and keeps breakers of unchanged deployments', async () => {
    const t = await startWatched([CHAT, OTHER]);
    // The breaker of up/gpt-4o (alias other) opens on one failure.
    t.upstream.enqueue({ type: 'error', status: 500 });
    expect((await postJson(`${t.url}/v1/chat/completions`, chatBody('other'), MASTER)).status).toBe(502);

    t.upstream.enqueue({ type: 'chat', delayMs: 300 });
    const inFlight = postJson(`${t.url}/v1/chat/completions`, chatBody('chat'), MASTER);
    await waitFor(() => t.upstream.inFlight === 1, 2000);
    // `chat` goes away while its request runs.
    await writeFile(t.file, yamlFor(t.upstream, [OTHER]));
    await waitFor(async () => !(await modelIds(t.url)).includes('chat'), 2000);
    const answered = await inFlight;
    expect(answered.status).toBe(200);
    expect(await answered.text()).toContain('chat.completion');
    expect((await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'), MASTER)).status).toBe(404);

    const health = (await (await fetch(`${t.url}/admin/health`, { headers: MASTER })).json()) as {
      breakers: Array<{ deployment: string; state: string }>;
    };
    expect(health.breakers).toContainEqual({ deployment: 'up/gpt-4o', state: 'open' });
  });

  it('says which changed sections wait for a restart, and applies the rest', async () => {
    const t = await startWatched([CHAT]);
    await writeFile(
      t.file,
      yamlFor(t.upstream, [CHAT, OTHER], {
        server: { port: 9999 },
        logging: { level: 'warn' },
        responses: { retentionDays: 7 },
      }),
    );
    await waitFor(async () => (await modelIds(t.url)).includes('other'), 2000);
    expect(await configView(t.url)).toMatchObject({
      pending_restart: ['server', 'responses', 'logging'],
      last_reload: { ok: true, pending_restart: ['server', 'responses', 'logging'] },
      config: { server: { port: 8787 }, logging: { level: 'info' }, responses: { retentionDays: 30 } },
    });
    expect(t.logs.some((line) => line.includes('change only at the next start: server, responses, logging'))).toBe(
      true,
    );
  });

  it('reloads on POST /admin/config/reload', async () => {
    const t = await startWatched([CHAT]);
    const reloaded = await fetch(`${t.url}/admin/config/reload`, { method: 'POST', headers: MASTER });
    expect(reloaded.status).toBe(200);
    expect(await reloaded.json()).toMatchObject({ trigger: 'admin', ok: true });
  });
});
