import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tracesRequested } from './start-tracing.ts';

const gatewayRoot = fileURLToPath(new URL('../../', import.meta.url));

// A gateway in a process of its own serves a chat request and a stream, and reports every OpenTelemetry SDK module it
// resolved (module resolution hooks see static and dynamic imports alike). The API package is left out: prom-client
// loads it in any case, and it does nothing without an SDK.
const SCRIPT = `
import { registerHooks } from 'node:module';
const loaded = [];
registerHooks({
  resolve(specifier, context, next) {
    const result = next(specifier, context);
    if (result.url.includes('/@opentelemetry/') && !result.url.includes('/@opentelemetry/api/')) loaded.push(result.url);
    return result;
  },
});
const { startStandInUpstream } = await import('@gw/providers/testing');
const { parseConfig } = await import('./src/config/load.ts');
const { createServer } = await import('./src/server.ts');
const upstream = await startStandInUpstream();
const config = parseConfig(
  {
    storage: { url: 'sqlite::memory:' },
    providers: [{ id: 'up', kind: 'openai', apiKey: 'sk-test', baseUrl: upstream.baseUrl }],
    models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
    logging: { level: 'error' },
  },
  { env: {} },
);
const gateway = await createServer({ config, host: '127.0.0.1', port: 0 });
for (const stream of [false, true]) {
  const response = await fetch(gateway.url + '/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chat', stream, messages: [{ role: 'user', content: 'Hi' }] }),
  });
  if (response.status !== 200) throw new Error('status ' + response.status);
  await response.text();
}
await gateway.close();
await upstream.close();
process.stdout.write(JSON.stringify(loaded.length));
`;

function sdkModulesLoaded(env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=@gw/source', '--input-type=module', '-e', SCRIPT], {
      cwd: gatewayRoot,
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(Number(stdout));
      else reject(new Error(`exited with ${String(code)}: ${stderr}`));
    });
  });
}

describe('traces off', () => {
  it('loads no OpenTelemetry SDK module unless an OTLP endpoint is set', async () => {
    expect(await sdkModulesLoaded({})).toBe(0);
    // The same script with traces on (sampling none, so nothing is sent): what the check above would see.
    expect(
      await sdkModulesLoaded({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_TRACES_SAMPLER: 'always_off' }),
    ).toBeGreaterThan(0);
    // Two gateways started from source in processes of their own.
  }, 60_000);

  it('reads the standard switches: an endpoint, OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER', () => {
    expect(tracesRequested({})).toBe(false);
    expect(tracesRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: ' ' })).toBe(false);
    expect(tracesRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracesRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe(true);
    expect(tracesRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' })).toBe(
      false,
    );
    expect(
      tracesRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' }),
    ).toBe(false);
  });
});
