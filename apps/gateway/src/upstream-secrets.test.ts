// A vendor (or a proxy in front of it) that echoes credentials in every field of its errors: on every route, JSON and
// stream, before the first byte and mid-stream, no configured secret (nor the first characters of one cut in half)
// reaches a client or a log line.
import type { StandInBehaviour } from '@gw/providers/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startTestGateway, TEST_VENDOR_KEY, type TestGateway } from './test-helpers.ts';

const MASTER_KEY = 'master-key-for-secrets-0a1b2c3d4e5f';
const ANTHROPIC_KEY = 'anthropic-key-9f8e7d6c5b4a3f2e1d0c';
// A provider no request reaches: its key is scrubbed all the same.
const OTHER_KEY = 'other-vendor-key-1c3e5a7b9d2f4a6c8e0b';
const METRICS_TOKEN = 'metrics-token-6b5a4c3d2e1f0a9b8c7d';
const KEYS = [TEST_VENDOR_KEY, MASTER_KEY, ANTHROPIC_KEY, OTHER_KEY, METRICS_TOKEN];

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway({
    config: (upstream) => ({
      auth: { masterKey: MASTER_KEY },
      metrics: { bearerToken: METRICS_TOKEN },
      providers: [
        { id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl },
        { id: 'claude', kind: 'anthropic', apiKey: ANTHROPIC_KEY, baseUrl: `${upstream.url}/v1` },
        { id: 'other', kind: 'openai', apiKey: OTHER_KEY, baseUrl: upstream.baseUrl },
      ],
      models: [
        { name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] },
        { name: 'claude', targets: [{ provider: 'claude', model: 'claude-haiku' }] },
      ],
      retry: { maxRetries: 0 },
      breaker: { enabled: false },
    }),
  });
});
afterAll(async () => {
  await t.close();
});

/** Every key, each in the forms a vendor echoes it: whole, straddling the 1,000-character cut, as a Bearer. */
function echo(): string {
  return KEYS.map((key) => `${'x'.repeat(990)}${key} Authorization: Bearer ${key}`).join(' ');
}

const openAIError = (): unknown => ({ error: { message: echo(), type: echo(), code: echo(), param: echo() } });
const anthropicError = (): unknown => ({ type: 'error', error: { type: echo(), message: echo() } });
const SSE = { 'content-type': 'text/event-stream' };
const openAIChunk =
  'data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}\n\n';
const anthropicStart =
  'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","model":"claude-haiku","usage":{"input_tokens":1}}}\n\n' +
  'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n' +
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\n';

const headers = { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' };
const messages = [{ role: 'user', content: 'hi' }];

interface Case {
  name: string;
  path: string;
  body: Record<string, unknown>;
  upstream: StandInBehaviour;
}

const openAIFailures = (stream: boolean): Array<[string, StandInBehaviour]> => [
  ['a 400 passed through', { type: 'error', status: 400, body: openAIError() }],
  ['a 500', { type: 'error', status: 500, body: openAIError() }],
  ['a 429', { type: 'error', status: 429, body: openAIError() }],
  ['a plain-text 502', { type: 'error', status: 502, body: echo() }],
  stream
    ? [
        'an error mid-stream',
        { type: 'raw', headers: SSE, body: `${openAIChunk}data: ${JSON.stringify(openAIError())}\n\n` },
      ]
    : ['an error answered with 200', { type: 'raw', body: JSON.stringify(openAIError()) }],
];

const anthropicFailures = (stream: boolean): Array<[string, StandInBehaviour]> => [
  ['a 400 passed through', { type: 'error', status: 400, body: anthropicError() }],
  ['a 529', { type: 'error', status: 529, body: anthropicError() }],
  ...(stream
    ? ([
        [
          'an error event mid-stream',
          {
            type: 'raw',
            headers: SSE,
            body: `${anthropicStart}event: error\ndata: ${JSON.stringify(anthropicError())}\n\n`,
          },
        ],
      ] satisfies Array<[string, StandInBehaviour]>)
    : []),
];

const cases: Case[] = [
  ...[false, true].flatMap((stream) =>
    openAIFailures(stream).map(([what, upstream]) => ({
      name: `chat ${stream ? 'stream' : 'JSON'}: ${what}`,
      path: '/v1/chat/completions',
      body: { model: 'chat', messages, stream },
      upstream,
    })),
  ),
  ...openAIFailures(false).map(([what, upstream]) => ({
    name: `embeddings: ${what}`,
    path: '/v1/embeddings',
    body: { model: 'up/text-embedding-3-small', input: 'hi' },
    upstream,
  })),
  ...[false, true].flatMap((stream) =>
    anthropicFailures(stream).map(([what, upstream]) => ({
      name: `messages ${stream ? 'stream' : 'JSON'} to Anthropic: ${what}`,
      path: '/v1/messages',
      body: { model: 'claude', max_tokens: 16, messages, stream },
      upstream,
    })),
  ),
  ...[false, true].flatMap((stream) =>
    openAIFailures(stream).map(([what, upstream]) => ({
      name: `messages ${stream ? 'stream' : 'JSON'} to OpenAI: ${what}`,
      path: '/v1/messages',
      body: { model: 'chat', max_tokens: 16, messages, stream },
      upstream,
    })),
  ),
  ...[false, true].flatMap((stream) =>
    openAIFailures(stream).map(([what, upstream]) => ({
      name: `responses ${stream ? 'stream' : 'JSON'}: ${what}`,
      path: '/v1/responses',
      body: { model: 'chat', input: 'hi', stream },
      upstream,
    })),
  ),
  ...anthropicFailures(true).map(([what, upstream]) => ({
    name: `responses stream to Anthropic: ${what}`,
    path: '/v1/responses',
    body: { model: 'claude', input: 'hi', stream: true },
    upstream,
  })),
];

/** Neither a key nor its first characters, anywhere in `text`. */
function expectNoKey(text: string, where: string): void {
  for (const key of KEYS) expect(text, `${where} shows ${key}`).not.toContain(key.slice(0, 10));
}

describe('a key-echoing vendor', () => {
  it.each(cases)('$name: the client and the log see no key', async ({ path, body, upstream }) => {
    t.upstream.enqueue(upstream);
    const logsBefore = t.logs.length;
    const response = await postJson(`${t.url}${path}`, body, headers);
    const text = await response.text();
    // The failure reached the client (an error answer, or an error event at the end of a stream)…
    if (response.status === 200) expect(text).toMatch(/error/);
    else expect(response.status).toBeGreaterThanOrEqual(400);
    // …with the vendor's words scrubbed, not dropped.
    expect(text).toContain('[redacted]');
    expectNoKey(text, 'the answer');
    expectNoKey(JSON.stringify([...response.headers]), 'the headers');
    expectNoKey(t.logs.slice(logsBefore).join('\n'), 'the log');
  });

  it('reached the upstream with every case, through the key of the provider it was routed to', () => {
    expect(t.upstream.requests).toHaveLength(cases.length);
    expect(t.upstream.requests.some((request) => request.headers['x-api-key'] === ANTHROPIC_KEY)).toBe(true);
  });
});
