import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const main = fileURLToPath(new URL('./main.ts', import.meta.url));

let child: ChildProcess | undefined;
afterEach(() => {
  if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
  child = undefined;
});

/** Starts `pnpm start`'s command from the repository root and waits for the listening line. */
function startMain(env: Record<string, string>): Promise<{ url: string; process: ChildProcess; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    const spawned = spawn(process.execPath, ['--conditions=@gw/source', main], {
      cwd: root,
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
    // Only the local ollama provider has no key to miss: it is enabled, so the gateway is ready.
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
