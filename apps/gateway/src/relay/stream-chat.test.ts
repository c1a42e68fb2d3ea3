import type { Usage } from '@gw/providers';
import { describe, expect, it } from 'vitest';
import type { RequestOutcome } from '../settle/settle-once.ts';
import { sseData, waitFor } from '@gw/test-kit';
import { chatBody, errorLines, gatewayPerTest, postJson, TEST_VENDOR_KEY } from '../test-helpers.ts';

const start = gatewayPerTest();

interface Chunk {
  object?: string;
  choices: Array<{
    delta: {
      content?: string | null;
      tool_calls?: Array<{ index: number; id?: string; function?: { name?: string; arguments?: string } }>;
    };
    finish_reason?: string | null;
  }>;
  usage?: unknown;
}

function parseChunks(data: string[]): Chunk[] {
  return data.filter((line) => line !== '[DONE]').map((line) => JSON.parse(line) as Chunk);
}

function contentOf(chunks: Chunk[]): string {
  return chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
}

function streamBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return chatBody('chat', { stream: true, ...extra });
}

describe('POST /v1/chat/completions (SSE)', () => {
  it('streams chunks as SSE and ends with data: [DONE]', async () => {
    const { url, upstream } = await start();
    upstream.enqueue({ type: 'chat', content: 'one two three four' });
    const response = await postJson(`${url}/v1/chat/completions`, streamBody(), { 'x-request-id': 'stream-1' });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('stream-1');
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    const data = sseData(await response.text());
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = parseChunks(data);
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk')).toBe(true);
    expect(contentOf(chunks)).toBe('one two three four');
    expect(upstream.requests[0]?.body).toMatchObject({ model: 'gpt-4o-mini', stream: true });
    expect(upstream.requests[0]?.headers['authorization']).toBe(`Bearer ${TEST_VENDOR_KEY}`);
  });

  it('drops the usage chunk and usage fields when the client did not ask for usage', async () => {
    const { url, upstream } = await start();
    const response = await postJson(`${url}/v1/chat/completions`, streamBody());
    const data = sseData(await response.text());
    const chunks = parseChunks(data);
    expect(chunks.length).toBeGreaterThan(0);
    // Every chunk has a choice a client can index, and none carries usage.
    expect(chunks.every((chunk) => chunk.choices.length > 0)).toBe(true);
    expect(chunks.some((chunk) => 'usage' in chunk)).toBe(false);
    // ...while the upstream was still asked for it, for billing.
    expect(upstream.requests[0]?.body).toMatchObject({ stream_options: { include_usage: true } });
  });

  it('relays a chunk it need not change as the upstream wrote it, and normalises one it must', async () => {
    const { url, upstream } = await start();
    const asSent =
      '{"id":"c1","object":"chat.completion.chunk","x_vendor":{"note":"kept"},"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]';
    upstream.enqueue({
      type: 'raw',
      headers: { 'content-type': 'text/event-stream' },
      body:
        `data: ${asSent},"usage":null}\n\n` +
        'data: {"id":"c2","object":"chat.completion.chunk","choices":[{"delta":{"content":" there"}}]}\n\n' +
        'data: {"id":"c3","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}\n\n' +
        'data: [DONE]\n\n',
    });
    const data = sseData(await (await postJson(`${url}/v1/chat/completions`, streamBody())).text());
    // usage: null is dropped for a client that did not ask for usage, the rest is the upstream's text.
    expect(data[0]).toBe(`${asSent}}`);
    // A chunk without index gets the index the schema fills in; the usage-only chunk stays with us.
    expect(JSON.parse(data[1] ?? '')).toEqual({
      id: 'c2',
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta: { content: ' there' } }],
    });
    expect(data.slice(2)).toEqual(['[DONE]']);
  });

  it('passes the usage chunk on when the client asked for include_usage', async () => {
    const { url, upstream } = await start();
    upstream.enqueue({ type: 'chat', content: 'a b c', usage: { prompt_tokens: 5, completion_tokens: 3 } });
    const response = await postJson(
      `${url}/v1/chat/completions`,
      streamBody({ stream_options: { include_usage: true } }),
    );
    const data = sseData(await response.text());
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = parseChunks(data);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
  });

  it('streams tool calls back', async () => {
    const { url, upstream } = await start();
    upstream.enqueue({
      type: 'chat',
      toolCalls: [{ id: 'call_9', name: 'lookup', arguments: '{"query":"weather in Paris"}' }],
    });
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }];
    const response = await postJson(`${url}/v1/chat/completions`, streamBody({ tools }));
    const chunks = parseChunks(sseData(await response.text()));
    const calls = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(calls.find((call) => call.id !== undefined && call.id !== null)?.id).toBe('call_9');
    expect(calls.map((call) => call.function?.name ?? '').join('')).toBe('lookup');
    expect(calls.map((call) => call.function?.arguments ?? '').join('')).toBe('{"query":"weather in Paris"}');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls');
    expect(upstream.requests[0]?.body).toMatchObject({ tools });
  });

  it('answers an upstream error before the first byte as a JSON error with the right status', async () => {
    const { url, upstream } = await start();
    upstream.enqueue({
      type: 'error',
      status: 429,
      body: { error: { message: 'Slow down', type: 'requests', code: 'rate_limit_exceeded', param: null } },
    });
    const response = await postJson(`${url}/v1/chat/completions`, streamBody());
    expect(response.status).toBe(429);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(await response.json()).toMatchObject({ error: { message: 'Slow down', code: 'rate_limit_exceeded' } });
  });

  it('ends with an error event and no [DONE] when the upstream connection is cut mid-stream', async () => {
    const { url, upstream } = await start();
    upstream.enqueue({ type: 'chat', content: 'w1 w2 w3 w4 w5 w6 w7 w8 w9 w10', cutAfterChunks: 4 });
    const response = await postJson(`${url}/v1/chat/completions`, streamBody());
    expect(response.status).toBe(200);
    const data = sseData(await response.text());
    expect(data).not.toContain('[DONE]');
    const last = JSON.parse(data.at(-1) ?? '{}') as { error?: { message: string; type: string; code: string | null } };
    expect(last.error).toMatchObject({ type: 'upstream_error' });
    expect(Object.keys(last.error ?? {}).sort()).toEqual(['code', 'message', 'type']);
    expect(data.length).toBeGreaterThan(1);
  });

  it('cuts a stalled upstream with an error event after the idle timeout', async () => {
    const { url, upstream } = await start({
      config: (standIn) => ({
        server: { streamIdleTimeoutMs: 300 },
        providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: standIn.baseUrl }],
        models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
      }),
    });
    upstream.enqueue({ type: 'chat', content: 'a b c d e f', stallAfterChunks: 3 });
    const response = await postJson(`${url}/v1/chat/completions`, streamBody());
    expect(response.status).toBe(200);
    const data = sseData(await response.text());
    expect(data).not.toContain('[DONE]');
    expect(JSON.parse(data.at(-1) ?? '{}')).toMatchObject({
      error: { type: 'timeout_error', code: 'stream_idle_timeout' },
    });
    await waitFor(() => upstream.requests[0]?.aborted === true, 1000);
  });

  it('answers 504 when the upstream stalls before its first chunk', async () => {
    const { url, upstream } = await start({
      config: (standIn) => ({
        server: { streamIdleTimeoutMs: 300 },
        providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: standIn.baseUrl }],
        models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
      }),
    });
    upstream.enqueue({ type: 'chat', stallAfterChunks: 0 });
    const response = await postJson(`${url}/v1/chat/completions`, streamBody());
    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({ error: { code: 'stream_idle_timeout' } });
  });

  it('aborts the upstream request promptly when the client disconnects mid-stream', async () => {
    const settled: RequestOutcome[] = [];
    const { url, upstream, logs } = await start({ settle: (outcome) => void settled.push(outcome) });
    upstream.enqueue({
      type: 'chat',
      content: Array.from({ length: 200 }, (_, index) => `w${index}`).join(' '),
      chunkDelayMs: 20,
    });
    const response = await postJson(`${url}/v1/chat/completions`, streamBody());
    const reader = response.body?.getReader();
    expect(reader).toBeDefined();
    await reader?.read();
    await reader?.cancel();
    await waitFor(() => upstream.requests[0]?.aborted === true, 1000);
    await waitFor(() => settled.length === 1, 1000);
    expect(settled[0]?.status).toBe('cancelled');
    expect(upstream.inFlight).toBe(0);
    expect(errorLines(logs)).toEqual([]);
  });

  it('treats a client that leaves before the first chunk as a cancellation, not a failure', async () => {
    const settled: RequestOutcome[] = [];
    const { url, upstream, logs } = await start({ settle: (outcome) => void settled.push(outcome) });
    upstream.enqueue({ type: 'chat', content: 'too late', delayMs: 5_000 });
    const client = new AbortController();
    const response = postJson(`${url}/v1/chat/completions`, streamBody(), {}, client.signal);
    await waitFor(() => upstream.requests.length === 1, 1000);
    client.abort();
    await expect(response).rejects.toThrow();
    await waitFor(() => upstream.requests[0]?.aborted === true, 1000);
    await waitFor(() => settled.length === 1, 1000);
    expect(settled[0]?.status).toBe('cancelled');
    expect(errorLines(logs)).toEqual([]);
  });

  it('delivers a 20,000-word answer whole and in order', async () => {
    const { url, upstream } = await start();
    const words = Array.from({ length: 20_000 }, (_, index) => `w${index}`);
    upstream.enqueue({ type: 'chat', content: words.join(' ') });
    const response = await postJson(`${url}/v1/chat/completions`, streamBody());
    const data = sseData(await response.text());
    expect(data.at(-1)).toBe('[DONE]');
    expect(contentOf(parseChunks(data)).split(' ')).toEqual(words);
  });

  it('settles a completed stream exactly once with the usage it saw', async () => {
    const settled: Array<{ usage: Usage | undefined; outcome: RequestOutcome }> = [];
    const { url, upstream } = await start({
      settle: (outcome) => void settled.push({ usage: outcome.usage, outcome }),
    });
    upstream.enqueue({ type: 'chat', content: 'x y', usage: { prompt_tokens: 9, completion_tokens: 2 } });
    const response = await postJson(`${url}/v1/chat/completions`, streamBody());
    await response.text();
    await waitFor(() => settled.length > 0);
    expect(settled).toHaveLength(1);
    expect(settled[0]?.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 });
    expect(settled[0]?.outcome).toMatchObject({
      status: 'completed',
      stream: true,
      model: 'chat',
      upstreamModel: 'gpt-4o-mini',
    });
  });

  it('settles a stream that failed mid-way exactly once', async () => {
    const settled: RequestOutcome[] = [];
    const { url, upstream } = await start({ settle: (outcome) => void settled.push(outcome) });
    upstream.enqueue({ type: 'chat', content: 'a b c d e f g', cutAfterChunks: 3 });
    const response = await postJson(`${url}/v1/chat/completions`, streamBody());
    await response.text();
    await waitFor(() => settled.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toHaveLength(1);
    expect(settled[0]?.status).toBe('failed');
  });

  it('ends a stream the upstream cut cleanly (no finish reason, no [DONE]) with an error event, settled failed', async () => {
    const settled: RequestOutcome[] = [];
    const { url, upstream, logs } = await start({ settle: (outcome) => void settled.push(outcome) });
    const chunk = (content: string): string =>
      `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"${content}"},"finish_reason":null}]}\n\n`;
    upstream.enqueue({
      type: 'raw',
      headers: { 'content-type': 'text/event-stream' },
      body: chunk('Hello') + chunk(' wor'),
    });
    const response = await postJson(`${url}/v1/chat/completions`, streamBody());
    expect(response.status).toBe(200);
    const data = sseData(await response.text());
    expect(data).not.toContain('[DONE]');
    expect(contentOf(parseChunks(data.slice(0, -1)))).toBe('Hello wor');
    expect(JSON.parse(data.at(-1) ?? '{}')).toMatchObject({ error: { type: 'upstream_error' } });
    await waitFor(() => settled.length === 1);
    expect(settled[0]?.status).toBe('failed');
    // The access line says 200: the failure is logged by itself, at warn.
    const line = logs.find((entry) => entry.includes('stream failed after it began'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({ level: 'warn', status: 502, code: 'upstream_error' });
  });

  it('answers 502 for an event stream that ends before its first chunk', async () => {
    const { url, upstream } = await start();
    upstream.enqueue({ type: 'raw', headers: { 'content-type': 'text/event-stream' }, body: ': nothing\n\n' });
    const response = await postJson(`${url}/v1/chat/completions`, streamBody());
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: { type: 'upstream_error', code: 'upstream_error' } });
  });
});
