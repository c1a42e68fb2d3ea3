import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const main = fileURLToPath(new URL('./main.ts', import.meta.url));

let child: ChildProcess | undefined;
afterEach(() => {
  if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
  child = undefined;
});

/** Starts `pnpm start`'s command (from the repository root unless `cwd` says) and waits for the listening line. */
function startMain(
  env: Record<string, string>,
  cwd = root,
): Promise<{ url: string; process: ChildProcess; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    const spawned = spawn(process.execPath, ['--conditions=@gw/source', main], {
      cwd,
      // Only what the test chooses: no vendor keys from the machine running the tests.
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = spawned;
    let stdout = '';
    let stderr = '';
    spawned.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    spawned.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match?.[1] !== undefined) resolve({ url: match[1], process: spawned, stderr: () => stderr });
    });
    spawned.once('exit', (code) => reject(new Error(`exited with ${String(code)} before listening: ${stderr}`)));
  });
}

function exitCode(process: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (process.exitCode !== null) resolve(process.exitCode);
    else process.once('exit', (code) => resolve(code));
  });
}

describe('main (pnpm start)', () => {
  it('starts on the repository gateway.yaml, answers /health/live and exits 0 on SIGTERM', async () => {
    const started = await startMain({ PORT: '0', GW_MASTER_KEY: 'main-test-master-key-123' });
    const live = await fetch(`${started.url}/health/live`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'ok' });
    // The demo and the local ollama provider have no key to miss: they are enabled, so the gateway is ready.
    expect((await fetch(`${started.url}/health/ready`)).status).toBe(200);
    started.process.kill('SIGTERM');
    expect(await exitCode(started.process)).toBe(0);
    const log = started.stderr();
    expect(log).toContain('provider \\"anthropic\\" disabled');
    expect(log).toContain('provider \\"openai\\" disabled: apiKey is empty');
    expect(log).not.toContain('main-test-master-key-123');
  });

  it('refuses an invalid configuration with the path of the bad field and exit code 1', async () => {
    const spawned = spawn(process.execPath, ['--conditions=@gw/source', main], {
      cwd: root,
      env: {
        PATH: process.env['PATH'] ?? '',
        GW_CONFIG: fileURLToPath(new URL('./__fixtures__/invalid.yaml', import.meta.url)),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = spawned;
    let stderr = '';
    spawned.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    expect(await exitCode(spawned)).toBe(1);
    expect(stderr).toContain('providers[0].bseUrl: unknown key');
    expect(stderr).not.toContain('sk-fixture-secret');
  });
});

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
    const started = await startMain({ PORT: '0', HOST: '0.0.0.0', GW_CONFIG: join(root, 'gateway.yaml') }, directory);
    expect(started.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    const url = started.url.replace('0.0.0.0', '127.0.0.1');
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

    started.process.kill('SIGTERM');
    expect(await exitCode(started.process)).toBe(0);
    expect(started.stderr()).toContain('provider \\"demo\\" is a DEMO');
  });
});
