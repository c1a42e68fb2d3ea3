import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFixture } from '../__fixtures__/read-fixture.ts';
import type { ChatCompletionRequest } from '../chat-api.ts';
import { createProvider } from '../create-provider.ts';
import { isProviderError } from '../provider-error.ts';
import type { ProviderError, ProviderErrorKind } from '../provider-error.ts';
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
    [402, { error: { message: 'Insufficient Balance', type: 'unknown_error', code: 'invalid_request_error' } }, 'quota', false],
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
      message: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
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
    ['a top-level message', { code: 'Throttling', message: 'Requests throttled', request_id: 'r1' }, 'Requests throttled'],
    ['a Gemini array envelope', [{ error: { code: 400, message: 'API key not valid', status: 'INVALID_ARGUMENT' } }], 'API key not valid'],
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
