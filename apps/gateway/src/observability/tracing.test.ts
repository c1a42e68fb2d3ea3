// Traces end to end over real HTTP: client -> gateway -> stand-in upstream, with the spans exported over OTLP/HTTP to
// a receiver in this process, configured only by the standard OTEL_* environment variables.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sseData, waitFor } from '@gw/test-kit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { chatBody, gatewayPerTest, NO_RETRIES, postJson, TEST_VENDOR_KEY, type TestGateway } from '../test-helpers.ts';

/** One export request the receiver got. */
interface ExportRequest {
  path: string;
  contentType: string;
  body: Buffer;
}

interface Receiver {
  url: string;
  requests: ExportRequest[];
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const requests: ExportRequest[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({
        path: request.url ?? '',
        contentType: request.headers['content-type'] ?? '',
        body: Buffer.concat(chunks),
      });
      // An empty ExportTraceServiceResponse: everything accepted.
      const json = request.headers['content-type'] === 'application/json';
      response.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      response.end(json ? '{}' : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// OTLP/JSON (opentelemetry-proto's JSON mapping): ids in hex, 64-bit integers as numbers or strings.
const anyValue: z.ZodType<unknown> = z.lazy(() =>
  z
    .looseObject({
      stringValue: z.string().optional(),
      intValue: z.union([z.string(), z.number()]).optional(),
      doubleValue: z.number().optional(),
      boolValue: z.boolean().optional(),
      arrayValue: z.looseObject({ values: z.array(anyValue).default([]) }).optional(),
    })
    .transform((value) => {
      if (value.stringValue !== undefined) return value.stringValue;
      if (value.intValue !== undefined) return Number(value.intValue);
      if (value.doubleValue !== undefined) return value.doubleValue;
      if (value.boolValue !== undefined) return value.boolValue;
      return value.arrayValue?.values;
    }),
);
const keyValues = z
  .array(z.object({ key: z.string(), value: anyValue }))
  .default([])
  .transform((pairs) => Object.fromEntries(pairs.map((pair) => [pair.key, pair.value])));
const exportRequest = z.object({
  resourceSpans: z.array(
    z.object({
      resource: z.object({ attributes: keyValues }),
      scopeSpans: z.array(
        z.object({
          spans: z.array(
            z.object({
              traceId: z.string(),
              spanId: z.string(),
              parentSpanId: z.string().optional(),
              name: z.string(),
              kind: z.number(),
              attributes: keyValues,
              events: z.array(z.object({ name: z.string(), attributes: keyValues })).default([]),
              status: z.object({ code: z.number().optional(), message: z.string().optional() }).default({}),
            }),
          ),
        }),
      ),
    }),
  ),
});

const SERVER = 2;
const CLIENT = 3;
const STATUS_ERROR = 2;

type ExportedSpan = z.infer<typeof exportRequest>['resourceSpans'][number]['scopeSpans'][number]['spans'][number] & {
  resource: Record<string, unknown>;
};

function spansOf(receiver: Receiver): ExportedSpan[] {
  return receiver.requests.flatMap((request) => {
    expect(request.path).toBe('/v1/traces');
    const body = exportRequest.parse(JSON.parse(request.body.toString('utf8')));
    return body.resourceSpans.flatMap((resourceSpans) =>
      resourceSpans.scopeSpans.flatMap((scope) =>
        scope.spans.map((span) => ({ ...span, resource: resourceSpans.resource.attributes })),
      ),
    );
  });
}

const start = gatewayPerTest();
let receiver: Receiver;

beforeEach(async () => {
  receiver = await startReceiver();
  vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', receiver.url);
  vi.stubEnv('OTEL_EXPORTER_OTLP_PROTOCOL', 'http/json');
  vi.stubEnv('OTEL_SERVICE_NAME', 'gw-under-test');
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await receiver.close();
});

/** Closes the gateway (as a drain ends): the spans still batched are exported before it resolves. */
async function exported(t: TestGateway): Promise<ExportedSpan[]> {
  await t.gateway.close();
  return spansOf(receiver);
}

const MASTER_KEY = 'sk-master-tracing-0123456789';

/** An alias `assistant` on `up/gpt-4o-mini` falling back to `backup` (`up/gpt-4o`), with the given retries. */
function tracedConfig(retry: Record<string, unknown>) {
  return (upstream: { baseUrl: string }): Record<string, unknown> => ({
    ...NO_RETRIES,
    auth: { masterKey: MASTER_KEY },
    providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
    models: [
      { name: 'assistant', targets: [{ provider: 'up', model: 'gpt-4o-mini' }], fallbacks: ['backup'] },
      { name: 'backup', targets: [{ provider: 'up', model: 'gpt-4o' }] },
    ],
    retry,
  });
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN_ID = '00f067aa0ba902b7';

async function virtualKey(url: string): Promise<{ id: string; key: string }> {
  const response = await postJson(`${url}/admin/keys`, { name: 'tracing' }, { authorization: `Bearer ${MASTER_KEY}` });
  expect(response.status).toBe(201);
  return z.object({ id: z.string(), key: z.string() }).parse(await response.json());
}

function requestSpan(spans: readonly ExportedSpan[]): ExportedSpan {
  const found = spans.filter((span) => span.kind === SERVER);
  expect(found).toHaveLength(1);
  return found[0] as ExportedSpan;
}

function attemptSpans(spans: readonly ExportedSpan[]): ExportedSpan[] {
  return spans.filter((span) => span.kind === CLIENT);
}

describe('traces over OTLP/HTTP', () => {
  it('a JSON request: a server span under the client traceparent, a client span per attempt, GenAI attributes', async () => {
    const t = await start({ config: tracedConfig({ maxRetries: 0 }) });
    const key = await virtualKey(t.url);
    t.upstream.setDefault({
      type: 'chat',
      content: 'Hello there.',
      usage: { prompt_tokens: 100, completion_tokens: 10 },
    });
    const response = await postJson(
      `${t.url}/v1/chat/completions`,
      chatBody('assistant', { max_tokens: 50, temperature: 0.2 }),
      { authorization: `Bearer ${key.key}`, traceparent: `00-${TRACE_ID}-${CLIENT_SPAN_ID}-01` },
    );
    expect(response.status).toBe(200);
    await response.text();
    const requestId = response.headers.get('x-gw-request-id');

    const spans = await exported(t);
    const server = requestSpan(spans);
    expect(server).toMatchObject({ name: 'chat assistant', traceId: TRACE_ID, parentSpanId: CLIENT_SPAN_ID });
    expect(server.resource['service.name']).toBe('gw-under-test');
    expect(server.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'assistant',
      'gen_ai.request.max_tokens': 50,
      'gen_ai.request.temperature': 0.2,
      'gen_ai.request.stream': false,
      'gen_ai.response.model': 'gpt-4o-mini',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 100,
      'gen_ai.usage.output_tokens': 10,
      'gw.request_id': requestId,
      'gw.key_id': key.id,
      // 100 × $0.15 + 10 × $0.60 per 1M.
      'gw.cost': 0.000021,
      'gw.cost.currency': 'USD',
      'gw.attempts': 1,
      'gw.fallback': false,
      'http.response.status_code': 200,
    });
    expect(server.status.code).not.toBe(STATUS_ERROR);

    const [attempt, ...others] = attemptSpans(spans);
    expect(others).toEqual([]);
    expect(attempt).toMatchObject({ name: 'chat gpt-4o-mini', traceId: TRACE_ID, parentSpanId: server.spanId });
    expect(attempt?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 100,
      'gen_ai.usage.output_tokens': 10,
    });
    // The vendor key travels to the upstream only.
    expect(receiver.requests.map((request) => request.body.toString('utf8')).join('')).not.toContain(TEST_VENDOR_KEY);
  });

  it('a stream: the request span ends when the stream has, with the first chunk, usage and finish reason', async () => {
    const t = await start({ config: tracedConfig({ maxRetries: 0 }) });
    t.upstream.setDefault({
      type: 'chat',
      content: 'One two three.',
      usage: { prompt_tokens: 7, completion_tokens: 3 },
    });
    const response = await postJson(
      `${t.url}/v1/chat/completions`,
      chatBody('assistant', { stream: true, stream_options: { include_usage: true } }),
      { authorization: `Bearer ${MASTER_KEY}` },
    );
    expect(sseData(await response.text()).at(-1)).toBe('[DONE]');

    const spans = await exported(t);
    const server = requestSpan(spans);
    expect(server.name).toBe('chat assistant');
    expect(server.attributes).toMatchObject({
      'gen_ai.request.stream': true,
      'gen_ai.response.model': 'gpt-4o-mini',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 7,
      'gen_ai.usage.output_tokens': 3,
      'gw.outcome': 'completed',
    });
    expect(server.attributes['gen_ai.response.time_to_first_chunk']).toEqual(expect.any(Number));
    expect(server.events.map((event) => event.name)).toContain('gw.first_chunk');
    expect(attemptSpans(spans)).toEqual([
      expect.objectContaining({
        name: 'chat gpt-4o-mini',
        parentSpanId: server.spanId,
        attributes: expect.objectContaining({ 'gen_ai.usage.output_tokens': 3 }),
      }),
    ]);
  });

  it('a client that leaves mid-stream: the spans end then, cancelled, not errors', async () => {
    const t = await start({ config: tracedConfig({ maxRetries: 0 }) });
    t.upstream.setDefault({ type: 'chat', content: 'A long answer that never ends.', stallAfterChunks: 2 });
    const client = new AbortController();
    const response = await postJson(
      `${t.url}/v1/chat/completions`,
      chatBody('assistant', { stream: true }),
      { authorization: `Bearer ${MASTER_KEY}` },
      client.signal,
    );
    const reader = response.body?.getReader();
    await reader?.read();
    client.abort();
    await waitFor(() => t.upstream.requests[0]?.aborted === true, 2000);

    const spans = await exported(t);
    const server = requestSpan(spans);
    expect(server.attributes).toMatchObject({ 'gw.outcome': 'cancelled', 'http.response.status_code': 200 });
    expect(server.status.code).not.toBe(STATUS_ERROR);
    expect(server.events.map((event) => event.name)).toContain('gw.first_chunk');
    const [attempt] = attemptSpans(spans);
    expect(attempt?.status.code).not.toBe(STATUS_ERROR);
  });

  it('a retry: a failed client span for the 429, a retry event, then the attempt that answered', async () => {
    const t = await start({ config: tracedConfig({ maxRetries: 1, baseDelayMs: 1 }) });
    t.upstream.enqueue({ type: 'error', status: 429 }, { type: 'chat', content: 'After the 429.' });
    const response = await postJson(`${t.url}/v1/chat/completions`, chatBody('assistant'), {
      authorization: `Bearer ${MASTER_KEY}`,
    });
    expect(response.status).toBe(200);
    await response.text();

    const spans = await exported(t);
    const server = requestSpan(spans);
    expect(server.attributes).toMatchObject({ 'gw.attempts': 2, 'gw.fallback': false });
    expect(server.events.find((event) => event.name === 'gw.retry')?.attributes).toMatchObject({
      'gw.deployment': 'up/gpt-4o-mini',
      'gw.attempt': 2,
      'error.type': 'rate_limit',
    });
    const attempts = attemptSpans(spans);
    expect(attempts.map((span) => [span.attributes['gw.attempt'], span.status.code === STATUS_ERROR])).toEqual([
      [1, true],
      [2, false],
    ]);
    expect(attempts[0]?.attributes).toMatchObject({ 'error.type': 'rate_limit', 'http.response.status_code': 429 });
    expect(attempts.every((span) => span.parentSpanId === server.spanId)).toBe(true);
  });

  it('a fallback: an event on the request span and the fallback alias serving', async () => {
    const t = await start({ config: tracedConfig({ maxRetries: 0 }) });
    t.upstream.enqueue({ type: 'error', status: 503 }, { type: 'chat', content: 'From the backup.' });
    const response = await postJson(`${t.url}/v1/chat/completions`, chatBody('assistant'), {
      authorization: `Bearer ${MASTER_KEY}`,
    });
    expect(response.status).toBe(200);
    await response.text();

    const spans = await exported(t);
    const server = requestSpan(spans);
    expect(server.events.find((event) => event.name === 'gw.fallback')?.attributes).toEqual({
      'gw.fallback.from': 'assistant',
      'gw.fallback.to': 'backup',
      'gw.fallback.reason': 'retryable',
    });
    expect(server.attributes).toMatchObject({
      'gw.fallback': true,
      'gw.attempts': 2,
      'gw.upstream_model': 'gpt-4o',
      'gen_ai.response.model': 'gpt-4o',
    });
    expect(attemptSpans(spans).map((span) => [span.name, span.status.code === STATUS_ERROR])).toEqual([
      ['chat gpt-4o-mini', true],
      ['chat gpt-4o', false],
    ]);
  });

  it('Messages and embeddings: chat and embeddings operations under the same names', async () => {
    const t = await start({ config: tracedConfig({ maxRetries: 0 }) });
    const messages = await postJson(
      `${t.url}/v1/messages`,
      { model: 'assistant', max_tokens: 64, temperature: 0.5, messages: [{ role: 'user', content: 'Hi' }] },
      { authorization: `Bearer ${MASTER_KEY}` },
    );
    expect(messages.status).toBe(200);
    await messages.text();
    const embeddings = await postJson(
      `${t.url}/v1/embeddings`,
      { model: 'up/text-embedding-3-small', input: 'Hello' },
      { authorization: `Bearer ${MASTER_KEY}` },
    );
    expect(embeddings.status).toBe(200);
    await embeddings.text();

    const spans = await exported(t);
    const servers = spans.filter((span) => span.kind === SERVER);
    expect(servers.find((span) => span.name === 'chat assistant')?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.max_tokens': 64,
      'gen_ai.request.temperature': 0.5,
      'gen_ai.response.finish_reasons': ['stop'],
      'http.route': '/v1/messages',
    });
    expect(servers.find((span) => span.name === 'embeddings up/text-embedding-3-small')?.attributes).toMatchObject({
      'gen_ai.operation.name': 'embeddings',
      'gen_ai.response.model': 'text-embedding-3-small',
      'gen_ai.usage.input_tokens': expect.any(Number),
    });
    expect(
      attemptSpans(spans)
        .map((span) => span.name)
        .sort(),
    ).toEqual(['chat gpt-4o-mini', 'embeddings text-embedding-3-small']);
  });

  it('errors set the span status: an upstream refusal, and a request refused before routing', async () => {
    const t = await start({ config: tracedConfig({ maxRetries: 0 }) });
    t.upstream.enqueue({ type: 'error', status: 400 });
    const refused = await postJson(`${t.url}/v1/chat/completions`, chatBody('assistant'), {
      authorization: `Bearer ${MASTER_KEY}`,
    });
    expect(refused.status).toBe(400);
    await refused.text();
    const unknown = await postJson(`${t.url}/v1/chat/completions`, chatBody('no-such-model'), {
      authorization: `Bearer ${MASTER_KEY}`,
    });
    expect(unknown.status).toBe(404);
    await unknown.text();

    const spans = await exported(t);
    const servers = spans.filter((span) => span.kind === SERVER);
    expect(servers.map((span) => span.name).sort()).toEqual(['POST /v1/chat/completions', 'chat assistant']);
    const failed = servers.find((span) => span.name === 'chat assistant');
    expect(failed?.status).toMatchObject({ code: STATUS_ERROR, message: 'invalid_request' });
    expect(failed?.attributes).toMatchObject({
      'error.type': 'invalid_request',
      'gw.outcome': 'failed',
      'http.response.status_code': 400,
    });
    const notRouted = servers.find((span) => span.name === 'POST /v1/chat/completions');
    expect(notRouted?.attributes).toMatchObject({
      'http.route': '/v1/chat/completions',
      'http.response.status_code': 404,
    });
  });

  it('follows the sampler: a client trace not sampled, or OTEL_TRACES_SAMPLER=always_off, exports nothing', async () => {
    const t = await start({ config: tracedConfig({ maxRetries: 0 }) });
    const unsampled = await postJson(`${t.url}/v1/chat/completions`, chatBody('assistant'), {
      authorization: `Bearer ${MASTER_KEY}`,
      traceparent: `00-${TRACE_ID}-${CLIENT_SPAN_ID}-00`,
    });
    expect(unsampled.status).toBe(200);
    await unsampled.text();
    expect(await exported(t)).toEqual([]);

    vi.stubEnv('OTEL_TRACES_SAMPLER', 'always_off');
    const off = await start({ config: tracedConfig({ maxRetries: 0 }) });
    const answered = await postJson(`${off.url}/v1/chat/completions`, chatBody('assistant'), {
      authorization: `Bearer ${MASTER_KEY}`,
    });
    expect(answered.status).toBe(200);
    await answered.text();
    expect(await exported(off)).toEqual([]);
  });

  it('exports protobuf by default (OTLP/HTTP http/protobuf)', async () => {
    vi.stubEnv('OTEL_EXPORTER_OTLP_PROTOCOL', '');
    const t = await start({ config: tracedConfig({ maxRetries: 0 }) });
    const response = await postJson(`${t.url}/v1/chat/completions`, chatBody('assistant'), {
      authorization: `Bearer ${MASTER_KEY}`,
      traceparent: `00-${TRACE_ID}-${CLIENT_SPAN_ID}-01`,
    });
    await response.text();
    await t.gateway.close();
    expect(receiver.requests.map((request) => [request.path, request.contentType])).toEqual([
      ['/v1/traces', 'application/x-protobuf'],
    ]);
    // Protobuf carries ids as raw bytes and names as UTF-8.
    const body = receiver.requests[0]?.body ?? Buffer.alloc(0);
    expect(body.includes(Buffer.from(TRACE_ID, 'hex'))).toBe(true);
    expect(body.includes(Buffer.from('chat assistant'))).toBe(true);
    expect(body.includes(Buffer.from('gen_ai.usage.output_tokens'))).toBe(true);
  });
});
