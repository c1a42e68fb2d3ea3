// The error status table (error-handler.ts) over real HTTP, one upstream failure kind per row, in both
// envelopes: OpenAI's on /v1/chat/completions, Anthropic's on /v1/messages. Upstream bodies are OpenAI-format
// error envelopes (platform.openai.com/docs/guides/error-codes), as an OpenAI-format target sends them.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { chatBody, gatewayPerTest, postJson, TEST_VENDOR_KEY } from './test-helpers.ts';

const start = gatewayPerTest();

const openAiEnvelope = z.object({
  error: z.object({ message: z.string(), type: z.string(), code: z.string().nullable(), param: z.string().nullable() }),
});
const anthropicEnvelope = z.object({
  type: z.literal('error'),
  error: z.object({ type: z.string(), message: z.string() }),
});

interface Row {
  name: string;
  upstream: { status: number; code: string | null; type: string; headers?: Record<string, string> };
  status: number;
  code: string | null;
  anthropic: { status: number; type: string };
  retryAfter?: string;
}

const ROWS: Row[] = [
  {
    name: 'rate_limit',
    upstream: { status: 429, code: 'rate_limit_exceeded', type: 'requests', headers: { 'retry-after': '7' } },
    status: 429,
    code: 'rate_limit_exceeded',
    anthropic: { status: 429, type: 'rate_limit_error' },
    retryAfter: '7',
  },
  {
    name: 'quota',
    upstream: { status: 429, code: 'insufficient_quota', type: 'insufficient_quota' },
    status: 429,
    code: 'insufficient_quota',
    anthropic: { status: 429, type: 'rate_limit_error' },
  },
  {
    name: 'quota (402)',
    upstream: { status: 402, code: null, type: 'billing_error' },
    status: 429,
    code: 'insufficient_quota',
    anthropic: { status: 429, type: 'rate_limit_error' },
  },
  {
    name: 'overloaded (503)',
    upstream: { status: 503, code: null, type: 'server_error' },
    status: 503,
    code: 'upstream_overloaded',
    anthropic: { status: 529, type: 'overloaded_error' },
  },
  {
    name: 'overloaded (529)',
    upstream: { status: 529, code: null, type: 'overloaded_error' },
    status: 503,
    code: 'upstream_overloaded',
    anthropic: { status: 529, type: 'overloaded_error' },
  },
  {
    name: 'timeout',
    upstream: { status: 504, code: null, type: 'server_error' },
    status: 504,
    code: 'upstream_timeout',
    anthropic: { status: 504, type: 'timeout_error' },
  },
  {
    name: 'context_window',
    upstream: { status: 400, code: 'context_length_exceeded', type: 'invalid_request_error' },
    status: 400,
    code: 'context_length_exceeded',
    anthropic: { status: 400, type: 'invalid_request_error' },
  },
  {
    name: 'content_filter',
    upstream: { status: 400, code: 'content_policy_violation', type: 'invalid_request_error' },
    status: 400,
    code: 'content_filter',
    anthropic: { status: 400, type: 'invalid_request_error' },
  },
  {
    name: 'authentication',
    upstream: { status: 401, code: 'invalid_api_key', type: 'invalid_request_error' },
    status: 401,
    code: 'invalid_api_key',
    anthropic: { status: 401, type: 'authentication_error' },
  },
  {
    name: 'permission',
    upstream: { status: 403, code: 'unsupported_country_region_territory', type: 'request_forbidden' },
    status: 403,
    code: 'unsupported_country_region_territory',
    anthropic: { status: 403, type: 'permission_error' },
  },
  {
    name: 'not_found',
    upstream: { status: 404, code: 'model_not_found', type: 'invalid_request_error' },
    status: 404,
    code: 'model_not_found',
    anthropic: { status: 404, type: 'not_found_error' },
  },
  {
    name: 'invalid_request (422)',
    upstream: { status: 422, code: 'invalid_value', type: 'invalid_request_error' },
    status: 422,
    code: 'invalid_value',
    anthropic: { status: 422, type: 'invalid_request_error' },
  },
  {
    name: 'server',
    upstream: { status: 500, code: null, type: 'server_error' },
    status: 502,
    code: 'upstream_error',
    anthropic: { status: 502, type: 'api_error' },
  },
  {
    name: 'unexpected status',
    upstream: { status: 520, code: null, type: 'server_error' },
    status: 502,
    code: 'upstream_error',
    anthropic: { status: 502, type: 'api_error' },
  },
];

describe.each(ROWS)('upstream $name', (row) => {
  // The vendor's message, echoing the vendor key as some do: the key must never reach the client.
  const message = `Upstream says ${row.name} (key ${TEST_VENDOR_KEY})`;
  const behaviour = {
    type: 'error' as const,
    status: row.upstream.status,
    body: { error: { message, type: row.upstream.type, code: row.upstream.code, param: null } },
    headers: row.upstream.headers ?? {},
  };

  it(`/v1/chat/completions answers ${row.status} code ${String(row.code)}`, async () => {
    const { url, upstream } = await start();
    upstream.enqueue(behaviour);
    const response = await postJson(`${url}/v1/chat/completions`, chatBody('chat'));
    expect(response.status).toBe(row.status);
    const text = await response.text();
    expect(text).not.toContain(TEST_VENDOR_KEY);
    const body = openAiEnvelope.parse(JSON.parse(text));
    expect(body.error.code).toBe(row.code);
    expect(body.error.message).toContain(`Upstream says ${row.name}`);
    if (row.retryAfter !== undefined) expect(response.headers.get('retry-after')).toBe(row.retryAfter);
  });

  it(`/v1/messages answers ${row.anthropic.status} ${row.anthropic.type}`, async () => {
    const { url, upstream } = await start();
    upstream.enqueue(behaviour);
    const response = await postJson(`${url}/v1/messages`, {
      model: 'chat',
      max_tokens: 10,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(response.status).toBe(row.anthropic.status);
    const text = await response.text();
    expect(text).not.toContain(TEST_VENDOR_KEY);
    const body = anthropicEnvelope.parse(JSON.parse(text));
    expect(body.error.type).toBe(row.anthropic.type);
    expect(body.error.message).toContain(`Upstream says ${row.name}`);
    if (row.retryAfter !== undefined) expect(response.headers.get('retry-after')).toBe(row.retryAfter);
  });
});
