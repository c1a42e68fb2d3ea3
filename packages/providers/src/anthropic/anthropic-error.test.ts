// Replays of Anthropic error bodies (https://docs.anthropic.com/en/api/errors: `{type:"error", error:{type, message},
// request_id}`) over real HTTP, with the status Anthropic sends each one with.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createProvider } from '../create-provider.ts';
import { isProviderError } from '../provider-error.ts';
import type { ProviderError } from '../provider-error.ts';
import type { Provider } from '../provider.ts';
import { readFixture } from '../__fixtures__/read-fixture.ts';
import { startStandInUpstream } from '../testing/stand-in-upstream.ts';
import type { StandInUpstream } from '../testing/stand-in-types.ts';

let upstream: StandInUpstream;
let provider: Provider;

beforeAll(async () => {
  upstream = await startStandInUpstream();
  provider = createProvider({
    kind: 'anthropic',
    id: 'claude',
    baseUrl: upstream.baseUrl,
    apiKey: 'sk-ant-test-key-123456',
  });
});
afterEach(() => upstream.reset());
afterAll(async () => {
  await upstream.close();
});

const request = { model: 'claude-sonnet-4-5', messages: [{ role: 'user' as const, content: 'Hi' }] };

async function failure(fixture: string, status: number, headers?: Record<string, string>): Promise<ProviderError> {
  upstream.enqueue({
    type: 'raw',
    status,
    body: readFixture(fixture),
    headers: { 'content-type': 'application/json', ...headers },
  });
  try {
    await provider.chat(request);
  } catch (error) {
    if (isProviderError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('Anthropic error replays', () => {
  it('anthropic-error-overloaded (529) → overloaded, retryable', async () => {
    const error = await failure('anthropic-error-overloaded.json', 529);
    expect(error).toMatchObject({
      kind: 'overloaded',
      status: 529,
      retryable: true,
      type: 'overloaded_error',
      code: 'overloaded_error',
      message: 'Overloaded',
      provider: 'claude',
      model: 'claude-sonnet-4-5',
    });
  });

  it('anthropic-error-rate-limit (429, retry-after) → rate_limit with retryAfterMs', async () => {
    const error = await failure('anthropic-error-rate-limit.json', 429, { 'retry-after': '12' });
    expect(error).toMatchObject({
      kind: 'rate_limit',
      status: 429,
      retryable: true,
      retryAfterMs: 12_000,
      type: 'rate_limit_error',
    });
    expect(error.message).toContain('would exceed the rate limit');
  });

  it('retry-after-ms wins over retry-after', async () => {
    const error = await failure('anthropic-error-rate-limit.json', 429, {
      'retry-after': '12',
      'retry-after-ms': '1500',
    });
    expect(error.retryAfterMs).toBe(1500);
  });

  it('anthropic-error-prompt-too-long (400) → context_window', async () => {
    const error = await failure('anthropic-error-prompt-too-long.json', 400);
    expect(error).toMatchObject({
      kind: 'context_window',
      status: 400,
      retryable: false,
      type: 'invalid_request_error',
    });
  });

  it('anthropic-error-billing → quota, not retried, whether sent as 400 or 402', async () => {
    expect(await failure('anthropic-error-billing.json', 400)).toMatchObject({ kind: 'quota', retryable: false });
    expect(await failure('anthropic-error-billing.json', 402)).toMatchObject({ kind: 'quota', retryable: false });
  });

  it('anthropic-error-authentication (401) → authentication', async () => {
    const error = await failure('anthropic-error-authentication.json', 401);
    expect(error).toMatchObject({
      kind: 'authentication',
      status: 401,
      retryable: false,
      message: 'invalid x-api-key',
    });
  });

  it.each([
    [403, 'permission_error', 'permission'],
    [404, 'not_found_error', 'not_found'],
    [413, 'request_too_large', 'invalid_request'],
    [500, 'api_error', 'server'],
    [504, 'timeout_error', 'timeout'],
    [400, 'invalid_request_error', 'invalid_request'],
  ])('HTTP %i %s → %s', async (status, type, kind) => {
    upstream.enqueue({
      type: 'error',
      status,
      body: { type: 'error', error: { type, message: 'x' }, request_id: 'req_1' },
    });
    await expect(provider.chat(request)).rejects.toMatchObject({ kind, status, type });
  });

  it('a body that is not an Anthropic envelope falls back to the status', async () => {
    upstream.enqueue({ type: 'error', status: 502, body: '<html>Bad Gateway</html>' });
    await expect(provider.chat(request)).rejects.toMatchObject({ kind: 'server', status: 502 });
  });
});
