import { waitFor } from '@gw/test-kit';
import { describe, expect, it } from 'vitest';
import { chatBody, gatewayPerTest, NO_RETRIES, postJson, TEST_VENDOR_KEY } from '../test-helpers.ts';

const start = gatewayPerTest();

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

// One sample line of the text exposition format: a name, optional {label="value",...}, a value.
const SAMPLE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (-?(?:\d+(?:\.\d*)?(?:e[+-]?\d+)?|NaN|Nan|[+-]Inf))$/;
const LABEL = /([a-z_]\w*)="((?:[^"\\]|\\.)*)"/gi;

/** Parses Prometheus text strictly: every line is a comment (# HELP / # TYPE) or a sample, else the test fails. */
function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const match = SAMPLE.exec(line);
    if (match === null) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(LABEL)) labels[label[1] ?? ''] = label[2] ?? '';
    samples.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
  }
  return samples;
}

function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find(
    (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  )?.value;
}

describe('GET /metrics', () => {
  it('counts requests, tokens, cost, errors and latencies with bounded labels', async () => {
    const t = await start({
      config: (upstream) => ({
        providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
        models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
        ...NO_RETRIES,
        breaker: { enabled: true, threshold: 5 },
      }),
    });
    t.upstream.setDefault({ type: 'chat', usage: { prompt_tokens: 100, completion_tokens: 20, cached_tokens: 40 } });
    expect((await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'))).status).toBe(200);
    const stream = await postJson(
      `${t.url}/v1/chat/completions`,
      chatBody('chat', { stream: true, stream_options: { include_usage: true } }),
    );
    await stream.text();
    t.upstream.enqueue({ type: 'error', status: 500 });
    expect((await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'))).status).toBe(502);
    // A model name a client made up is not a label.
    expect((await postJson(`${t.url}/v1/chat/completions`, chatBody('up/made-up-by-a-client'))).status).toBe(200);

    const response = await fetch(`${t.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    const samples = parsePrometheus(text);
    const chat = { provider: 'up', model: 'chat' };
    expect(valueOf(samples, 'llm_requests_total', { ...chat, status: 'completed' })).toBe(2);
    expect(valueOf(samples, 'llm_requests_total', { ...chat, status: 'failed' })).toBe(1);
    expect(valueOf(samples, 'llm_requests_total', { provider: 'up', model: 'other', status: 'completed' })).toBe(1);
    expect(samples.some((sample) => JSON.stringify(sample.labels).includes('made-up'))).toBe(false);
    expect(valueOf(samples, 'llm_tokens_total', { ...chat, type: 'input' })).toBe(120);
    expect(valueOf(samples, 'llm_tokens_total', { ...chat, type: 'cached_input' })).toBe(80);
    expect(valueOf(samples, 'llm_tokens_total', { ...chat, type: 'output' })).toBe(40);
    // Two answers of 60 × $0.15 + 40 × $0.075 + 20 × $0.60 per 1M tokens.
    expect(valueOf(samples, 'llm_cost_total', { ...chat, currency: 'USD' })).toBeCloseTo((2 * 24) / 1e6, 12);
    expect(valueOf(samples, 'llm_errors_total', { provider: 'up', kind: 'server' })).toBe(1);
    expect(valueOf(samples, 'llm_request_duration_seconds_count', chat)).toBe(3);
    expect(valueOf(samples, 'llm_time_to_first_token_seconds_count', chat)).toBe(1);
    expect(valueOf(samples, 'llm_active_requests')).toBe(0);
    expect(valueOf(samples, 'llm_circuit_breaker_state', { deployment: 'up/gpt-4o-mini' })).toBe(0);
    // Every metric the operations docs name is exposed, observed yet or not.
    for (const name of [
      'llm_requests_total',
      'llm_request_duration_seconds',
      'llm_time_to_first_token_seconds',
      'llm_active_requests',
      'llm_tokens_total',
      'llm_cost_total',
      'llm_errors_total',
      'llm_retries_total',
      'llm_fallbacks_total',
      'llm_rate_limit_hits_total',
      'llm_circuit_breaker_state',
      'llm_queue_length',
      'llm_queue_wait_seconds',
      'llm_ledger_buffered_rows',
      'llm_ledger_spilled_rows',
      'process_cpu_seconds_total',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(text, name).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    }
  });

  it('counts retries and fallbacks, and reports queue lengths and waits', async () => {
    const t = await start({
      config: (upstream) => ({
        providers: [
          { id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl, maxConcurrency: 1 },
        ],
        models: [
          { name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }], fallbacks: ['backup'] },
          { name: 'backup', targets: [{ provider: 'up', model: 'gpt-4o' }] },
        ],
        retry: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 1 },
        breaker: { enabled: false },
      }),
    });
    t.upstream.enqueue({ type: 'error', status: 503 }, { type: 'error', status: 503 });
    expect((await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'))).status).toBe(200);
    const samples = parsePrometheus(await (await fetch(`${t.url}/metrics`)).text());
    expect(valueOf(samples, 'llm_retries_total', { provider: 'up' })).toBe(1);
    expect(valueOf(samples, 'llm_fallbacks_total', { from: 'chat', to: 'backup' })).toBe(1);
    expect(valueOf(samples, 'llm_queue_wait_seconds_count', { deployment: 'up' })).toBe(3);
    expect(valueOf(samples, 'llm_queue_length', { deployment: 'up' })).toBe(0);
    await waitFor(() => t.upstream.requests.length === 3);
  });

  it('asks for metrics.bearerToken when one is set', async () => {
    const t = await start({
      config: (upstream) => ({
        metrics: { bearerToken: 'metrics-token-0123456789' },
        providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
      }),
    });
    expect((await fetch(`${t.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const ok = await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer metrics-token-0123456789' } });
    expect(ok.status).toBe(200);
  });

  it('is not served when metrics.enabled is false', async () => {
    const t = await start({
      config: (upstream) => ({
        metrics: { enabled: false },
        providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
      }),
    });
    expect((await fetch(`${t.url}/metrics`)).status).toBe(404);
  });
});
