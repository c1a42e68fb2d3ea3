import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFixture } from '../__fixtures__/read-fixture.ts';
import type { ChatCompletionRequest } from '../chat-api.ts';
import { createProvider } from '../create-provider.ts';
import { isProviderError } from '../provider-error.ts';
import type { ProviderError, ProviderErrorKind } from '../provider-error.ts';
import type { ProviderKind } from '../provider-kinds.ts';
import type { Provider } from '../provider.ts';
import { startStandInUpstream } from '../testing/stand-in-upstream.ts';
import type { StandInUpstream } from '../testing/stand-in-types.ts';

let upstream: StandInUpstream;
let provider: Provider;

beforeAll(async () => {
  upstream = await startStandInUpstream();
  provider = createProvider({ kind: 'openai', baseUrl: upstream.baseUrl, apiKey: 'sk-test-mapping-0000' });
});
afterEach(() => upstream.reset());
afterAll(async () => {
  await upstream.close();
});

const request: ChatCompletionRequest = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

async function errorFor(status: number, body?: unknown, headers?: Record<string, string>): Promise<ProviderError> {
  upstream.enqueue({ type: 'error', status, body, ...(headers === undefined ? {} : { headers }) });
  try {
    await provider.chat(request);
  } catch (error) {
    if (isProviderError(error)) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

function envelope(code: string | null, type = 'invalid_request_error', message = 'upstream says no') {
  return { error: { message, type, param: null, code } };
}

describe('HTTP status and body code -> kind', () => {
  it.each<[number, unknown, ProviderErrorKind, boolean]>([
    [400, envelope(null), 'invalid_request', false],
    [400, envelope('context_length_exceeded'), 'context_window', false],
    [400, envelope('content_filter'), 'content_filter', false],
    [400, envelope('content_policy_violation'), 'content_filter', false],
    [401, envelope('invalid_api_key'), 'authentication', false],
    [
      402,
      { error: { message: 'Insufficient Balance', type: 'unknown_error', code: 'invalid_request_error' } },
      'quota',
      false,
    ],
    [403, envelope(null, 'permission_error'), 'permission', false],
    [404, envelope('model_not_found'), 'not_found', false],
    [408, envelope(null), 'timeout', true],
    [413, envelope(null), 'invalid_request', false],
    [422, envelope(null), 'invalid_request', false],
    [429, envelope('rate_limit_exceeded', 'requests'), 'rate_limit', true],
    [429, envelope('insufficient_quota', 'insufficient_quota'), 'quota', false],
    [429, { error: { code: '1302', message: '您的账户已达到速率限制' } }, 'rate_limit', true],
    [429, { error: { code: '1113', message: '您的账户已欠费' } }, 'quota', false],
    [429, { error: { code: 'ServerOverloaded', message: 'busy', type: 'TooManyRequests' } }, 'overloaded', true],
    [500, envelope(null, 'server_error'), 'server', true],
    [502, undefined, 'server', true],
    [503, envelope(null, 'server_error'), 'overloaded', true],
    [504, undefined, 'timeout', true],
    [507, undefined, 'server', true],
    [529, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, 'overloaded', true],
  ])('HTTP %i %j -> %s (retryable %s)', async (status, body, kind, retryable) => {
    const error = await errorFor(status, body);
    expect(error.kind).toBe(kind);
    expect(error.retryable).toBe(retryable);
    expect(error.status).toBe(status);
  });

  it('keeps the vendor message, code, type and param', async () => {
    const error = await errorFor(400, JSON.parse(readFixture('openai-error-unsupported-parameter.json')));
    expect(error).toMatchObject({
      kind: 'invalid_request',
      message:
        "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
      code: 'unsupported_parameter',
      param: 'max_tokens',
      type: 'invalid_request_error',
      provider: 'openai',
      model: 'gpt-4o-mini',
    });
  });

  it.each<[string, number, ProviderErrorKind]>([
    ['openai-error-context-length.json', 400, 'context_window'],
    ['openai-error-insufficient-quota.json', 429, 'quota'],
    ['openai-error-invalid-api-key.json', 401, 'authentication'],
    ['openai-error-rate-limit.json', 429, 'rate_limit'],
    ['openai-error-content-policy.json', 400, 'content_filter'],
    ['openai-error-model-not-found.json', 404, 'not_found'],
    ['openai-error-server.json', 500, 'server'],
  ])('maps the recorded body %s (HTTP %i) to %s', async (fixture, status, kind) => {
    const body: unknown = JSON.parse(readFixture(fixture));
    const error = await errorFor(status, body);
    expect(error.kind).toBe(kind);
  });

  it('tolerates a plain-text body', async () => {
    const error = await errorFor(502, 'Bad Gateway');
    expect(error.kind).toBe('server');
    expect(error.message).toBe('Bad Gateway');
    expect(error.code).toBeUndefined();
  });

  it('tolerates an empty body', async () => {
    const error = await errorFor(503, '');
    expect(error.kind).toBe('overloaded');
    expect(error.message).toBe('Upstream answered HTTP 503');
  });

  it.each<[string, unknown, string]>([
    ['a bare string error', { error: 'model not loaded' }, 'model not loaded'],
    ['a FastAPI detail', { detail: 'Not authenticated' }, 'Not authenticated'],
    [
      'a top-level message',
      { code: 'Throttling', message: 'Requests throttled', request_id: 'r1' },
      'Requests throttled',
    ],
    [
      'a Gemini array envelope',
      [{ error: { code: 400, message: 'API key not valid', status: 'INVALID_ARGUMENT' } }],
      'API key not valid',
    ],
  ])('reads the message from %s', async (_name, body, message) => {
    const error = await errorFor(400, body);
    expect(error.message).toBe(message);
  });
});

describe('retryAfterMs', () => {
  it('reads retry-after-ms', async () => {
    const error = await errorFor(429, envelope('rate_limit_exceeded'), { 'retry-after-ms': '1500' });
    expect(error.retryAfterMs).toBe(1500);
  });

  it('reads Retry-After in seconds', async () => {
    const error = await errorFor(429, envelope('rate_limit_exceeded'), { 'retry-after': '2' });
    expect(error.retryAfterMs).toBe(2000);
  });

  it('reads Retry-After as an HTTP date', async () => {
    const at = new Date(Date.now() + 30_000).toUTCString();
    const error = await errorFor(503, undefined, { 'retry-after': at });
    // HTTP dates have one-second resolution.
    expect(error.retryAfterMs).toBeGreaterThan(28_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it('prefers retry-after-ms over Retry-After, and is undefined without either', async () => {
    const both = await errorFor(429, undefined, { 'retry-after-ms': '250', 'retry-after': '9' });
    expect(both.retryAfterMs).toBe(250);
    expect((await errorFor(429)).retryAfterMs).toBeUndefined();
  });
});

// The vendor error bodies in __fixtures__ follow each vendor's error-code reference: docs.z.ai/api-reference/api-code
// (Zhipu), Alibaba Model Studio error codes (DashScope), Qianfan v2 error codes, Volcengine Ark error codes,
// api-docs.deepseek.com/quick_start/error_codes, Moonshot's error reference, docs.mistral.ai, console.groq.com/docs/errors,
// the Ollama and vLLM OpenAI-compatible servers. The HTTP status each vendor sends with the body is in the table.
describe('vendor error bodies -> kind', () => {
  const VENDOR_KEY = 'sk-vendor-test-5e2d8c1f9a';
  let vendorUpstream: StandInUpstream;

  beforeAll(async () => {
    vendorUpstream = await startStandInUpstream();
  });
  afterEach(() => vendorUpstream.reset());
  afterAll(async () => {
    await vendorUpstream.close();
  });

  async function vendorError(kind: ProviderKind, status: number, body: unknown, headers?: Record<string, string>) {
    vendorUpstream.enqueue({ type: 'error', status, body, ...(headers === undefined ? {} : { headers }) });
    const vendor = createProvider({ kind, baseUrl: vendorUpstream.baseUrl, apiKey: VENDOR_KEY });
    try {
      await vendor.chat(request);
    } catch (error) {
      if (isProviderError(error)) return error;
      throw error;
    }
    throw new Error('expected the call to fail');
  }

  function messageOf(body: unknown): string | undefined {
    if (typeof body !== 'object' || body === null) return undefined;
    const error: unknown = Reflect.get(body, 'error');
    const holder = typeof error === 'object' && error !== null ? error : body;
    const message: unknown = Reflect.get(holder, 'message');
    return typeof message === 'string' ? message : undefined;
  }

  it.each<{
    fixture: string;
    kind: ProviderKind;
    status: number;
    headers?: Record<string, string>;
    expected: ProviderErrorKind;
    retryable: boolean;
    retryAfterMs?: number;
    code: string | undefined;
  }>([
    {
      fixture: 'zhipu-error-quota.json',
      kind: 'zhipu',
      status: 429,
      expected: 'quota',
      retryable: false,
      code: '1113',
    },
    {
      fixture: 'zhipu-error-rate-limit.json',
      kind: 'zhipu',
      status: 429,
      expected: 'rate_limit',
      retryable: true,
      code: '1302',
    },
    {
      fixture: 'zhipu-error-frequency.json',
      kind: 'zhipu',
      status: 429,
      expected: 'rate_limit',
      retryable: true,
      code: '1303',
    },
    {
      fixture: 'zhipu-error-overloaded.json',
      kind: 'zhipu',
      status: 429,
      expected: 'rate_limit',
      retryable: true,
      code: '1305',
    },
    {
      fixture: 'zhipu-error-content-filter.json',
      kind: 'zhipu',
      status: 400,
      expected: 'content_filter',
      retryable: false,
      code: '1301',
    },
    {
      fixture: 'zhipu-error-context-length.json',
      kind: 'zhipu',
      status: 400,
      expected: 'context_window',
      retryable: false,
      code: '1261',
    },
    {
      fixture: 'dashscope-error-quota.json',
      kind: 'dashscope',
      status: 400,
      expected: 'quota',
      retryable: false,
      code: 'Arrearage',
    },
    {
      fixture: 'dashscope-error-rate-limit.json',
      kind: 'dashscope',
      status: 429,
      headers: { 'retry-after': '3' },
      expected: 'rate_limit',
      retryable: true,
      retryAfterMs: 3000,
      code: 'Throttling.RateQuota',
    },
    {
      fixture: 'dashscope-error-content-filter.json',
      kind: 'dashscope',
      status: 400,
      expected: 'content_filter',
      retryable: false,
      code: 'data_inspection_failed',
    },
    {
      fixture: 'qianfan-error-context-length.json',
      kind: 'qianfan',
      status: 400,
      expected: 'context_window',
      retryable: false,
      code: 'tokens_too_long',
    },
    {
      fixture: 'qianfan-error-rate-limit.json',
      kind: 'qianfan',
      status: 429,
      expected: 'rate_limit',
      retryable: true,
      code: 'rpm_rate_limit_exceeded',
    },
    {
      fixture: 'doubao-error-quota.json',
      kind: 'doubao',
      status: 403,
      expected: 'quota',
      retryable: false,
      code: 'AccountOverdueError',
    },
    {
      fixture: 'doubao-error-rate-limit.json',
      kind: 'doubao',
      status: 429,
      expected: 'rate_limit',
      retryable: true,
      code: 'ModelAccountRpmRateLimitExceeded',
    },
    {
      fixture: 'doubao-error-quota-exceeded.json',
      kind: 'doubao',
      status: 429,
      expected: 'quota',
      retryable: false,
      code: 'QuotaExceeded',
    },
    {
      fixture: 'doubao-error-tpm.json',
      kind: 'doubao',
      status: 429,
      expected: 'rate_limit',
      retryable: true,
      code: 'RateLimitExceeded.EndpointTPMExceeded',
    },
    {
      fixture: 'doubao-error-output-risk.json',
      kind: 'doubao',
      status: 400,
      expected: 'content_filter',
      retryable: false,
      code: 'OutputTextRiskDetection',
    },
    {
      fixture: 'doubao-error-sensitive.json',
      kind: 'doubao',
      status: 400,
      expected: 'content_filter',
      retryable: false,
      code: 'SensitiveContentDetected',
    },
    {
      fixture: 'doubao-error-overloaded.json',
      kind: 'doubao',
      status: 429,
      expected: 'overloaded',
      retryable: true,
      code: 'ServerOverloaded',
    },
    {
      fixture: 'doubao-error-content-filter.json',
      kind: 'doubao',
      status: 400,
      expected: 'content_filter',
      retryable: false,
      code: 'InputTextRiskDetection',
    },
    {
      fixture: 'deepseek-error-quota.json',
      kind: 'deepseek',
      status: 402,
      expected: 'quota',
      retryable: false,
      code: 'invalid_request_error',
    },
    {
      fixture: 'deepseek-error-overloaded.json',
      kind: 'deepseek',
      status: 503,
      expected: 'overloaded',
      retryable: true,
      code: 'server_overloaded',
    },
    {
      fixture: 'deepseek-error-invalid-parameters.json',
      kind: 'deepseek',
      status: 422,
      expected: 'invalid_request',
      retryable: false,
      code: 'invalid_request_error',
    },
    {
      fixture: 'deepseek-error-context-length.json',
      kind: 'deepseek',
      status: 400,
      expected: 'context_window',
      retryable: false,
      code: 'invalid_request_error',
    },
    {
      fixture: 'moonshot-error-quota.json',
      kind: 'moonshot',
      status: 429,
      expected: 'quota',
      retryable: false,
      code: undefined,
    },
    {
      fixture: 'moonshot-error-rate-limit.json',
      kind: 'moonshot',
      status: 429,
      headers: { 'retry-after': '1' },
      expected: 'rate_limit',
      retryable: true,
      retryAfterMs: 1000,
      code: undefined,
    },
    {
      fixture: 'moonshot-error-context-length.json',
      kind: 'moonshot',
      status: 400,
      expected: 'context_window',
      retryable: false,
      code: undefined,
    },
    {
      fixture: 'mistral-error-rate-limit.json',
      kind: 'mistral',
      status: 429,
      expected: 'rate_limit',
      retryable: true,
      code: '1300',
    },
    {
      fixture: 'mistral-error-context-length.json',
      kind: 'mistral',
      status: 400,
      expected: 'context_window',
      retryable: false,
      code: undefined,
    },
    {
      fixture: 'groq-error-rate-limit.json',
      kind: 'groq',
      status: 429,
      headers: { 'retry-after': '2' },
      expected: 'rate_limit',
      retryable: true,
      retryAfterMs: 2000,
      code: 'rate_limit_exceeded',
    },
    {
      fixture: 'groq-error-context-length.json',
      kind: 'groq',
      status: 400,
      expected: 'context_window',
      retryable: false,
      code: 'context_length_exceeded',
    },
    {
      fixture: 'ollama-error-not-found.json',
      kind: 'ollama',
      status: 404,
      expected: 'not_found',
      retryable: false,
      code: undefined,
    },
    {
      fixture: 'vllm-error-context-length.json',
      kind: 'vllm',
      status: 400,
      expected: 'context_window',
      retryable: false,
      code: '400',
    },
  ])(
    '$fixture (HTTP $status) -> $expected',
    async ({ fixture, kind, status, headers, expected, retryable, retryAfterMs, code }) => {
      const body: unknown = JSON.parse(readFixture(fixture));
      const error = await vendorError(kind, status, body, headers);
      expect(error.kind).toBe(expected);
      expect(error.retryable).toBe(retryable);
      expect(error.status).toBe(status);
      expect(error.retryAfterMs).toBe(retryAfterMs);
      expect(error.code).toBe(code);
      expect(error.provider).toBe(kind);
      expect(error.message).toBe(messageOf(body));
    },
  );

  it('scrubs the API key from a vendor message that echoes it', async () => {
    const body = { error: { code: '1002', message: `Authorization Token非法: ${VENDOR_KEY}` } };
    const error = await vendorError('zhipu', 401, body);
    expect(error.kind).toBe('authentication');
    expect(error.message).not.toContain(VENDOR_KEY);
    expect(error.message).toContain('Authorization Token非法');
  });

  it('keeps numeric codes per kind: Zhipu 1261 is an over-long prompt, the same code elsewhere is not', async () => {
    const body = { error: { code: '1261', message: 'blocked' } };
    expect((await vendorError('zhipu', 400, body)).kind).toBe('context_window');
    expect((await vendorError('mistral', 400, body)).kind).toBe('invalid_request');
  });

  it('maps a vendor code inside a stream by kind', async () => {
    vendorUpstream.enqueue({
      type: 'raw',
      headers: { 'content-type': 'text/event-stream' },
      body: 'data: {"id":"z","choices":[{"index":0,"delta":{"content":"a"}}]}\n\ndata: {"error":{"code":"1302","message":"并发数过高"}}\n\n',
    });
    const zhipu = createProvider({ kind: 'zhipu', baseUrl: vendorUpstream.baseUrl, apiKey: VENDOR_KEY });
    const stream = zhipu.chatStream(request);
    expect((await stream.next()).done).toBe(false);
    const error = await stream.next().then(
      () => undefined,
      (cause: unknown) => (isProviderError(cause) ? cause : undefined),
    );
    expect(error?.kind).toBe('rate_limit');
    expect(error?.code).toBe('1302');
  });

  it('recognises an over-long prompt by its message only when there is no code to go by', async () => {
    const error = await vendorError('vllm', 400, {
      object: 'error',
      message: 'prompt is too long',
      type: 'BadRequestError',
    });
    expect(error.kind).toBe('context_window');
    const refused = await vendorError('vllm', 500, {
      object: 'error',
      message: 'prompt is too long',
      type: 'InternalServerError',
    });
    expect(refused.kind).toBe('server');
  });
});
