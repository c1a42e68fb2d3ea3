import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@gw/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { rawRequest, startGatewayProcess, testDirectory, type GatewayProcess } from './test-helpers.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const main = fileURLToPath(new URL('./main.ts', import.meta.url));

const started: Array<Pick<GatewayProcess, 'kill'>> = [];
afterEach(() => {
  for (const gateway of started.splice(0)) gateway.kill();
});

async function start(options: Parameters<typeof startGatewayProcess>[0]): Promise<GatewayProcess> {
  const gateway = await startGatewayProcess(options);
  started.push(gateway);
  return gateway;
}

/** Runs main.ts with `env` until it exits by itself: its exit code and standard error. */
function runToExit(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const spawned: ChildProcess = spawn(process.execPath, ['--conditions=@gw/source', main], {
    cwd: root,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push({ kill: () => spawned.kill('SIGKILL') });
  let stderr = '';
  spawned.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => spawned.once('exit', (code) => resolve({ code, stderr })));
}

describe('main (pnpm start)', () => {
  it('starts on the repository gateway.yaml, answers /health/live and exits 0 on SIGTERM', async () => {
    const gateway = await start({ env: { PORT: '0', GW_MASTER_KEY: 'main-test-master-key-123' } });
    const live = await fetch(`${gateway.url}/health/live`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'ok' });
    // The demo and the local ollama provider have no key to miss: they are enabled, so the gateway is ready.
    expect((await fetch(`${gateway.url}/health/ready`)).status).toBe(200);
    gateway.child.kill('SIGTERM');
    expect(await gateway.exited()).toBe(0);
    const log = gateway.stderr();
    expect(log).toContain('provider \\"anthropic\\" disabled');
    expect(log).toContain('provider \\"openai\\" disabled: apiKey is empty');
    expect(log).not.toContain('main-test-master-key-123');
  });

  it('reloads its configuration file on SIGHUP and says so in /admin/config', async () => {
    const masterKey = 'main-test-sighup-master-key';
    const gateway = await start({
      env: { GW_MASTER_KEY: masterKey },
      config: {
        server: { port: 0 },
        auth: { masterKey: '${GW_MASTER_KEY}' },
        providers: [{ id: 'demo', kind: 'demo' }],
        models: [{ name: 'first', targets: [{ provider: 'demo', model: 'demo-echo' }] }],
      },
    });
    const lastReload = async (): Promise<unknown> => {
      const answer = await fetch(`${gateway.url}/admin/config`, { headers: { authorization: `Bearer ${masterKey}` } });
      return z.object({ last_reload: z.unknown() }).parse(await answer.json()).last_reload;
    };
    expect(await lastReload()).toBeNull();
    // The file is unchanged, so its watcher reloads nothing: only the signal can.
    gateway.child.kill('SIGHUP');
    await waitFor(async () => (await lastReload()) !== null, 10_000);
    expect(await lastReload()).toMatchObject({ trigger: 'signal', ok: true });
    expect(
      gateway.logLines().some((line) => line['msg'] === 'configuration reloaded' && line['trigger'] === 'signal'),
    ).toBe(true);
    expect((await fetch(`${gateway.url}/health/live`)).status).toBe(200);
  });

  it('refuses an invalid configuration with the path of the bad field and exit code 1', async () => {
    const { code, stderr } = await runToExit({
      GW_CONFIG: fileURLToPath(new URL('./__fixtures__/invalid.yaml', import.meta.url)),
    });
    expect(code).toBe(1);
    expect(stderr).toContain('providers[0].bseUrl: unknown key');
    expect(stderr).not.toContain('sk-fixture-secret');
  });
});

// Workers start one after the other's CPU share on a busy machine: these tests wait for them generously.
describe('main with GW_WORKERS', { timeout: 90_000 }, () => {
  it('serves one port from two worker processes and stops them all on SIGTERM, exiting 0', async () => {
    const gateway = await start({
      env: { GW_WORKERS: '2' },
      config: {
        server: { port: 0 },
        storage: {
          url: `sqlite://${testDirectory()}/workers/gateway.db`,
          spillPath: `${testDirectory()}/workers.jsonl`,
        },
        logging: { requests: true },
      },
    });
    // Each on a connection of its own: the primary hands connections to the workers in turn.
    for (let sent = 0; sent < 6; sent += 1) {
      const answer = await rawRequest(`${gateway.url}/health/live`, { headers: { connection: 'close' } });
      expect(answer.status).toBe(200);
    }
    const lines = gateway.logLines();
    const served = new Set(lines.filter((line) => line['msg'] === 'request').map((line) => line['worker']));
    expect(served.size).toBe(2);
    // Each worker said once which process it is; the workers are not the primary.
    const workers = lines.filter((line) => line['msg'] === 'worker listening');
    expect(workers.map((line) => line['worker']).sort()).toEqual([...served].sort());
    const pids = new Set(workers.map((line) => line['pid']));
    expect(pids.size).toBe(2);
    expect(pids.has(gateway.child.pid)).toBe(false);
    // Without redis.url, limits are counted per worker: the operator is told.
    expect(lines.some((line) => String(line['msg']).startsWith('limits and budgets are per worker'))).toBe(true);

    gateway.child.kill('SIGTERM');
    expect(await gateway.exited()).toBe(0);
    const stopped = gateway.logLines().filter((line) => line['msg'] === 'drained, exiting');
    expect(stopped.map((line) => line['worker']).sort()).toEqual([...served].sort());
    for (const pid of pids) expect(isRunning(Number(pid))).toBe(false);
  });

  it('starts a new worker for one that died, and refuses an invalid GW_WORKERS with exit code 1', async () => {
    const gateway = await start({
      env: { GW_WORKERS: '2' },
      config: { server: { port: 0 }, storage: { url: 'sqlite::memory:', spillPath: `${testDirectory()}/w2.jsonl` } },
    });
    const [victim] = gateway.logLines().filter((line) => line['msg'] === 'worker listening');
    process.kill(Number(victim?.['pid']), 'SIGKILL');
    await waitFor(
      () => gateway.logLines().some((line) => line['msg'] === 'worker listening' && line['worker'] === 3),
      30_000,
    );
    // The new worker takes the place of the dead one (and so its ledger spill file).
    const replacement = gateway.logLines().find((line) => line['msg'] === 'worker listening' && line['worker'] === 3);
    expect(replacement?.['slot']).toBe(victim?.['slot']);
    expect((await fetch(`${gateway.url}/health/live`)).status).toBe(200);
    gateway.child.kill('SIGTERM');
    expect(await gateway.exited()).toBe(0);

    expect(gateway.stderr()).toContain('a worker exited unexpectedly: starting another');

    const { code, stderr } = await runToExit({ GW_WORKERS: 'two' });
    expect(code).toBe(1);
    expect(stderr).toContain('GW_WORKERS (environment): expected an integer from 1 to 256');
  });

  it('exits 1 when its workers cannot start, here because the port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = taken.address() as AddressInfo;
      const { code, stderr } = await runToExit({ GW_WORKERS: '2', PORT: String(port) });
      expect(code).toBe(1);
      expect(stderr).toContain('EADDRINUSE');
      expect(stderr).toContain('a worker exited before it could serve: stopping');
    } finally {
      taken.close();
    }
  });
});

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const chunkSchema = z.object({ choices: z.array(z.object({ delta: z.object({ content: z.string().nullish() }) })) });
const ledgerSchema = z.object({
  data: z.array(z.object({ provider: z.string().nullable(), cost: z.number().nullable(), unpriced: z.boolean() })),
});

describe('a first run on the shipped gateway.yaml, without any vendor key', () => {
  let directory: string | undefined;
  afterEach(async () => {
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
    directory = undefined;
  });

  it('answers the demo model, JSON and stream, priced at 0, in the ledger and in /metrics; HOST=0.0.0.0 listens on every interface', async () => {
    // A directory of its own, so that the ledger (./data/gateway.db by default) holds only this test's rows.
    directory = await mkdtemp(join(tmpdir(), 'gw-first-run-'));
    const gateway = await start({
      env: { PORT: '0', HOST: '0.0.0.0', GW_CONFIG: join(root, 'gateway.yaml') },
      cwd: directory,
    });
    expect(gateway.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    const url = gateway.url.replace('0.0.0.0', '127.0.0.1');
    const request = (stream: boolean): RequestInit => ({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'demo', stream, messages: [{ role: 'user', content: 'Hello gateway' }] }),
    });

    const json = await fetch(`${url}/v1/chat/completions`, request(false));
    expect(json.status).toBe(200);
    expect(json.headers.get('x-gw-cost')).toBe('0');
    const body = z
      .object({
        model: z.string(),
        choices: z.array(z.object({ message: z.object({ content: z.string() }) })),
        usage: z.object({ completion_tokens: z.number(), cost: z.number() }),
      })
      .parse(await json.json());
    expect(body.model).toBe('demo-echo');
    expect(body.choices[0]?.message.content).toMatch(
      /^\[demo\] .*no language model was called\. You said: Hello gateway$/,
    );
    expect(body.usage.cost).toBe(0);

    const streamed = await fetch(`${url}/v1/chat/completions`, request(true));
    expect(streamed.status).toBe(200);
    expect(streamed.headers.get('content-type')).toContain('text/event-stream');
    const events = (await streamed.text()).split('\n\n').filter((event) => event.startsWith('data: '));
    expect(events.at(-1)).toBe('data: [DONE]');
    const content = events
      .slice(0, -1)
      .map((event) => chunkSchema.parse(JSON.parse(event.slice('data: '.length))).choices[0]?.delta.content ?? '')
      .join('');
    expect(content).toBe(body.choices[0]?.message.content);

    // The ledger writes a batch within a second of its first row.
    let rows: z.infer<typeof ledgerSchema>['data'] = [];
    for (let attempt = 0; attempt < 50 && rows.length < 2; attempt += 1) {
      await sleep(100);
      rows = ledgerSchema.parse(await (await fetch(`${url}/admin/requests`)).json()).data;
    }
    expect(rows).toHaveLength(2);
    expect(rows.map(({ provider, cost, unpriced }) => ({ provider, cost, unpriced }))).toEqual([
      { provider: 'demo', cost: 0, unpriced: false },
      { provider: 'demo', cost: 0, unpriced: false },
    ]);

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('llm_requests_total{provider="demo",model="demo",status="completed"} 2');
    expect(metrics).toContain('llm_cost_total{provider="demo",model="demo",currency="USD"} 0');

    gateway.child.kill('SIGTERM');
    expect(await gateway.exited()).toBe(0);
    expect(gateway.stderr()).toContain('provider \\"demo\\" is a DEMO');
  });
});
