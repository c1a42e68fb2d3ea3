// Retries, breakers, fallbacks, queues and stream failures, end to end over real HTTP: client -> gateway -> stand-in.
// Backoff and breaker timing themselves are tested with fake timers in @gw/retry; here the waits are kept short by
// config, and time is read from what the gateway reports (its retry log), never from a wall clock.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sseData, waitFor } from '@gw/test-kit';
import { chatBody, gatewayPerTest, postJson, TEST_VENDOR_KEY, type TestGateway } from './test-helpers.ts';

const start = gatewayPerTest();

/** One provider on the stand-in, one alias; retries with short delays and no breaker unless a test says otherwise. */
function resilientConfig(extra: Record<string, unknown> = {}) {
  return (upstream: { baseUrl: string }): Record<string, unknown> => ({
    providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
    models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
    retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 5000 },
    breaker: { enabled: false },
    ...extra,
  });
}

const logLine = z.looseObject({
  msg: z.string(),
  attempt: z.number().optional(),
  delayMs: z.number().optional(),
  kind: z.string().optional(),
});

function retryLogs(t: TestGateway): Array<z.infer<typeof logLine>> {
  return t.logs
    .map((line) => logLine.parse(JSON.parse(line)))
    .filter((entry) => entry.msg.startsWith('retrying deployment'));
}

const contentOf = z.looseObject({
  choices: z.array(z.looseObject({ message: z.looseObject({ content: z.string().nullish() }) })),
});

describe('retries', () => {
  it('answers with a success after two 503s: three upstream attempts, the client sees none of the failures', async () => {
    const t = await start({ config: resilientConfig() });
    t.upstream.enqueue(
      { type: 'error', status: 503 },
      { type: 'error', status: 503 },
      { type: 'chat', content: 'Third time lucky.' },
    );
    const response = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'));
    expect(response.status).toBe(200);
    expect(contentOf.parse(await response.json()).choices[0]?.message.content).toBe('Third time lucky.');
    expect(t.upstream.requests).toHaveLength(3);
    expect(retryLogs(t).map((entry) => entry.kind)).toEqual(['overloaded', 'overloaded']);
    // Attempts are numbered from 1: the first call is attempt 1, so the two failures logged are 1 and 2.
    expect(retryLogs(t).map((entry) => entry.attempt)).toEqual([1, 2]);
  });

  it('waits out a 429 Retry-After of 1 s before the retry, and gives up on a 400 at once', async () => {
    const t = await start({ config: resilientConfig() });
    t.upstream.enqueue(
      { type: 'error', status: 429, headers: { 'retry-after': '1' } },
      { type: 'chat', content: 'After the wait.' },
    );
    const response = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'));
    expect(response.status).toBe(200);
    expect(t.upstream.requests).toHaveLength(2);
    const [retry] = retryLogs(t);
    expect(retry?.kind).toBe('rate_limit');
    expect(retry?.delayMs).toBeGreaterThanOrEqual(1000);

    t.upstream.reset();
    t.upstream.enqueue({ type: 'error', status: 400 });
    const refused = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'));
    expect(refused.status).toBe(400);
    expect(t.upstream.requests).toHaveLength(1);
  });

  it('retries a stream that fails before its first byte, invisibly', async () => {
    const t = await start({ config: resilientConfig() });
    t.upstream.enqueue({ type: 'error', status: 502 }, { type: 'chat', content: 'Streamed fine.' });
    const response = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat', { stream: true }));
    expect(response.status).toBe(200);
    const data = sseData(await response.text());
    expect(data.at(-1)).toBe('[DONE]');
    expect(data.some((line) => line.includes('"error"'))).toBe(false);
    expect(t.upstream.requests).toHaveLength(2);
  });
});

describe('fallbacks', () => {
  it('answers a model whose only deployment always fails from its fallback alias', async () => {
    const t = await start({
      config: (upstream) => ({
        providers: [
          // Nothing listens on port 9: every call fails to connect.
          { id: 'dead', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: 'http://127.0.0.1:9/v1' },
          { id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl },
        ],
        models: [
          { name: 'chat', targets: [{ provider: 'dead', model: 'gpt-4o' }], fallbacks: ['backup'] },
          { name: 'backup', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] },
        ],
        retry: { maxRetries: 1, baseDelayMs: 1 },
        breaker: { enabled: false },
      }),
    });
    for (let index = 0; index < 2; index++) {
      const response = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'));
      expect(response.status).toBe(200);
    }
    expect(
      t.upstream.requests.map((request) => z.looseObject({ model: z.string() }).parse(request.body).model),
    ).toEqual(['gpt-4o-mini', 'gpt-4o-mini']);
    expect(t.logs.some((line) => line.includes('falls back to \\"backup\\"'))).toBe(true);
  });
});

describe('circuit breaker', () => {
  it('opens after the configured failures, sends nothing while open, and closes after a good half-open probe', async () => {
    const t = await start({
      config: resilientConfig({ retry: { maxRetries: 0 }, breaker: { threshold: 2, halfOpenAfterMs: 200 } }),
    });
    t.upstream.enqueue({ type: 'error', status: 500 }, { type: 'error', status: 500 });
    for (let index = 0; index < 2; index++)
      expect((await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'))).status).toBe(502);
    expect(t.upstream.requests).toHaveLength(2);

    const whileOpen = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'));
    expect(whileOpen.status).toBe(503);
    expect(await whileOpen.json()).toMatchObject({ error: { code: 'circuit_open' } });
    expect(t.upstream.requests).toHaveLength(2); // nothing reached the dead deployment

    // After halfOpenAfterMs one probe goes through; it succeeds, so the breaker closes.
    let probe: Response | undefined;
    for (let tries = 0; tries < 50 && probe?.status !== 200; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      probe = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'));
    }
    expect(probe?.status).toBe(200);
    expect(t.upstream.requests).toHaveLength(3);
    expect((await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'))).status).toBe(200);
    const states = t.logs
      .filter((line) => line.includes('circuit breaker'))
      .map((line) => z.looseObject({ state: z.string() }).parse(JSON.parse(line)).state);
    expect(states).toEqual(['open', 'halfOpen', 'closed']);
  });
});

describe('per-provider queue', () => {
  function queuedConfig(extra: Record<string, unknown> = {}) {
    return (upstream: { baseUrl: string }): Record<string, unknown> => ({
      providers: [
        { id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl, maxConcurrency: 1, ...extra },
      ],
      models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
      retry: { maxRetries: 0 },
      breaker: { enabled: false },
    });
  }

  function queued(t: TestGateway): number {
    return t.gateway.state.routing.limiters.snapshot().find((entry) => entry.key === 'up')?.queued ?? 0;
  }

  it('with maxConcurrency 1, sends 20 concurrent requests upstream one at a time, all succeeding', async () => {
    const t = await start({ config: queuedConfig() });
    t.upstream.setDefault({ type: 'chat', delayMs: 5 });
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => postJson(`${t.url}/v1/chat/completions`, chatBody('chat'))),
    );
    expect(responses.map((response) => response.status)).toEqual(Array.from({ length: 20 }, () => 200));
    expect(t.upstream.requests).toHaveLength(20);
    expect(t.upstream.peakInFlight).toBe(1);
  });

  it('starts queued requests in x-gw-priority order, and refuses a request when the queue is full', async () => {
    const t = await start({ config: queuedConfig({ maxQueue: 5 }) });
    t.upstream.enqueue({ type: 'chat', delayMs: 300, content: 'blocker' });
    const blocker = postJson(
      `${t.url}/v1/chat/completions`,
      chatBody('chat', { messages: [{ role: 'user', content: 'blocker' }] }),
    );
    await waitFor(() => t.upstream.requests.length === 1);
    const priorities = [9, 0, 5, 1, 0];
    const pending: Array<Promise<Response>> = [];
    for (const [index, priority] of priorities.entries()) {
      const body = chatBody('chat', { messages: [{ role: 'user', content: `p${priority}-${index}` }] });
      pending.push(postJson(`${t.url}/v1/chat/completions`, body, { 'x-gw-priority': String(priority) }));
      await waitFor(() => queued(t) === index + 1);
    }
    const full = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'));
    expect(full.status).toBe(503);
    expect(await full.json()).toMatchObject({ error: { code: 'queue_full' } });

    expect((await blocker).status).toBe(200);
    for (const response of await Promise.all(pending)) expect(response.status).toBe(200);
    const order = t.upstream.requests.slice(1).map((request) => {
      const body = z.looseObject({ messages: z.array(z.looseObject({ content: z.string() })) }).parse(request.body);
      return body.messages[0]?.content;
    });
    expect(order).toEqual(['p0-1', 'p0-4', 'p1-3', 'p5-2', 'p9-0']);
    expect(t.upstream.peakInFlight).toBe(1);
  });

  it('refuses a bad x-gw-priority with a 400 naming the header', async () => {
    const t = await start({ config: queuedConfig() });
    const response = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'), { 'x-gw-priority': 'urgent' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { param: 'x-gw-priority' } });
  });
});

describe('streams that fail mid-way', () => {
  it('aborts the upstream when the client leaves, ends a cut stream with an error event, cuts a stall at the idle timeout, and stays healthy', async () => {
    const t = await start({
      config: (upstream) => ({ ...resilientConfig()(upstream), server: { streamIdleTimeoutMs: 300 } }),
    });

    // The client leaves mid-stream: the upstream call is aborted.
    t.upstream.enqueue({ type: 'chat', content: 'one two three four five six seven eight', chunkDelayMs: 50 });
    const controller = new AbortController();
    const leaving = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chatBody('chat', { stream: true })),
      signal: controller.signal,
    });
    const reader = leaving.body?.getReader();
    await reader?.read();
    controller.abort();
    await waitFor(() => t.upstream.requests[0]?.aborted === true, 1000);

    // The upstream cuts the connection after two chunks: the client gets an error event, no [DONE].
    t.upstream.enqueue({ type: 'chat', content: 'one two three four five', cutAfterChunks: 2 });
    const cut = sseData(
      await (await postJson(`${t.url}/v1/chat/completions`, chatBody('chat', { stream: true }))).text(),
    );
    expect(cut.at(-1)).toContain('"error"');
    expect(cut).not.toContain('[DONE]');

    // The upstream goes silent: cut at the idle timeout with an error event, and the upstream call is aborted.
    t.upstream.enqueue({ type: 'chat', content: 'one two three four five', stallAfterChunks: 2 });
    const stalled = sseData(
      await (await postJson(`${t.url}/v1/chat/completions`, chatBody('chat', { stream: true }))).text(),
    );
    expect(stalled.at(-1)).toContain('stream_idle_timeout');
    await waitFor(() => t.upstream.requests[2]?.aborted === true, 1000);

    expect((await fetch(`${t.url}/health/ready`)).status).toBe(200);
    expect((await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'))).status).toBe(200);
  });
});

describe('timeouts', () => {
  it('retries an attempt that overruns timeouts.attemptMs, then answers 504', async () => {
    const t = await start({
      config: resilientConfig({ retry: { maxRetries: 1, baseDelayMs: 1 }, timeouts: { attemptMs: 100 } }),
    });
    t.upstream.setDefault({ type: 'chat', delayMs: 2000 });
    const response = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'));
    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({ error: { code: 'upstream_timeout' } });
    expect(t.upstream.requests).toHaveLength(2);
    await waitFor(() => t.upstream.requests.every((request) => request.aborted));
  });

  it('ends a request past timeouts.totalMs with a 504, and a stream past it with an error event', async () => {
    const t = await start({
      config: (upstream) => ({
        ...resilientConfig()(upstream),
        models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }], timeouts: { totalMs: 300 } }],
      }),
    });
    t.upstream.enqueue({ type: 'chat', delayMs: 2000 });
    const slow = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'));
    expect(slow.status).toBe(504);
    expect(await slow.json()).toMatchObject({ error: { code: 'request_timeout' } });

    t.upstream.enqueue({
      type: 'chat',
      content: 'one two three four five six seven eight nine ten',
      chunkDelayMs: 100,
    });
    const data = sseData(
      await (await postJson(`${t.url}/v1/chat/completions`, chatBody('chat', { stream: true }))).text(),
    );
    expect(data.length).toBeGreaterThan(1);
    expect(data.at(-1)).toContain('request_timeout');
    expect(data).not.toContain('[DONE]');
    await waitFor(() => t.upstream.requests[1]?.aborted === true);
  });
});

describe('health', () => {
  it('probes providers when asked to, and shows every deployment, breaker, queue and probe in one view', async () => {
    const t = await start({
      config: (upstream) => ({
        ...resilientConfig({ breaker: { threshold: 3 } })(upstream),
        providers: [
          { id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl, maxConcurrency: 2 },
        ],
        health: { probeIntervalMs: 60_000, probeTimeoutMs: 1000 },
      }),
    });
    const probes = t.gateway.state.probes;
    if (probes === undefined) throw new Error('probes are configured');
    t.upstream.enqueue({ type: 'error', status: 500 });
    await probes.probeAll();
    expect(probes.results()).toEqual([
      expect.objectContaining({ provider: 'up', ok: false, error: expect.objectContaining({ kind: 'server' }) }),
    ]);
    expect(t.logs.some((line) => line.includes('provider \\"up\\" failed its health probe'))).toBe(true);
    await probes.probeAll();
    expect(probes.results()).toEqual([expect.objectContaining({ provider: 'up', ok: true })]);
    expect(t.upstream.requests.map((request) => request.path)).toEqual(['/v1/models', '/v1/models']);

    expect((await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'))).status).toBe(200);
    const view = t.gateway.state.healthView();
    expect(view.deployments).toEqual([
      expect.objectContaining({
        alias: 'chat',
        providerId: 'up',
        model: 'gpt-4o-mini',
        calls: 1,
        failures: 0,
        inFlight: 0,
      }),
    ]);
    expect(view.breakers).toEqual([expect.objectContaining({ state: 'closed' })]);
    expect(view.queues).toEqual([expect.objectContaining({ key: 'up', running: 0, queued: 0, maxConcurrency: 2 })]);
  });

  it('is not ready when aliases are configured and none has a usable deployment', async () => {
    const t = await start({
      config: (upstream) => ({
        ...resilientConfig()(upstream),
        providers: [
          { id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl },
          { id: 'nokey', kind: 'deepseek', apiKey: '' },
        ],
        models: [{ name: 'chat', targets: [{ provider: 'nokey', model: 'deepseek-chat' }] }],
      }),
    });
    const response = await fetch(`${t.url}/health/ready`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ reason: 'no model alias has a usable deployment' });
  });
});
