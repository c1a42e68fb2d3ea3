import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@gw/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
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
    // Only the local ollama provider has no key to miss: it is enabled, so the gateway is ready.
    expect((await fetch(`${gateway.url}/health/ready`)).status).toBe(200);
    gateway.child.kill('SIGTERM');
    expect(await gateway.exited()).toBe(0);
    const log = gateway.stderr();
    expect(log).toContain('provider \\"anthropic\\" disabled');
    expect(log).toContain('provider \\"openai\\" disabled: apiKey is empty');
    expect(log).not.toContain('main-test-master-key-123');
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
