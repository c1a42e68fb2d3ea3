// Error bodies follow Google's Gemini API troubleshooting guide and the google.rpc.Status / ErrorInfo / RetryInfo
// reference (ai.google.dev/gemini-api/docs/troubleshooting; cloud.google.com/apis/design/errors).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFixture } from '../__fixtures__/read-fixture.ts';
import { createProvider } from '../create-provider.ts';
import { isProviderError } from '../provider-error.ts';
import type { ProviderError } from '../provider-error.ts';
import type { Provider } from '../provider.ts';
import { startStandInUpstream } from '../testing/stand-in-upstream.ts';
import type { StandInUpstream } from '../testing/stand-in-types.ts';
import { parseGeminiRetryDelay } from './gemini-error.ts';

const API_KEY = 'AIzaSyErrorTestKey987654';
let upstream: StandInUpstream;
let provider: Provider;

beforeAll(async () => {
  upstream = await startStandInUpstream();
  provider = createProvider({ kind: 'gemini', baseUrl: `${upstream.url}/v1beta`, apiKey: API_KEY });
});
afterEach(() => upstream.reset());
afterAll(async () => {
  await upstream.close();
});

async function chatError(): Promise<ProviderError> {
  try {
    await provider.chat({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Hi' }] });
  } catch (error) {
    if (isProviderError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('replayed error fixtures', () => {
  it.each([
    [
      'gemini-error-resource-exhausted.json',
      429,
      { kind: 'rate_limit', retryAfterMs: 34400, retryable: true, type: 'RESOURCE_EXHAUSTED' },
    ],
    ['gemini-error-api-key-invalid.json', 400, { kind: 'authentication', code: 'API_KEY_INVALID', retryable: false }],
    [
      'gemini-error-unavailable.json',
      503,
      { kind: 'overloaded', retryable: true, message: 'The model is overloaded. Please try again later.' },
    ],
    ['gemini-error-token-limit.json', 400, { kind: 'context_window', type: 'INVALID_ARGUMENT', retryable: false }],
  ])('%s (HTTP %i)', async (name, status, expected) => {
    upstream.enqueue({ type: 'error', status, body: JSON.parse(readFixture(name)) });
    expect(await chatError()).toMatchObject({ ...expected, status, provider: 'gemini', model: 'gemini-2.5-flash' });
  });
});

describe('status mapping', () => {
  it.each([
    [400, 'invalid_request'],
    [401, 'authentication'],
    [403, 'permission'],
    [404, 'not_found'],
    [429, 'rate_limit'],
    [500, 'server'],
    [503, 'overloaded'],
    [504, 'timeout'],
  ])('the stand-in Gemini body for HTTP %i → %s', async (status, kind) => {
    upstream.enqueue({ type: 'error', status });
    expect((await chatError()).kind).toBe(kind);
  });

  it('FAILED_PRECONDITION (billing not enabled) is quota, not retried', async () => {
    upstream.enqueue({
      type: 'error',
      status: 400,
      body: {
        error: {
          code: 400,
          message:
            'Gemini API free tier is not available in your country. Please enable billing on your project in Google AI Studio.',
          status: 'FAILED_PRECONDITION',
        },
      },
    });
    expect(await chatError()).toMatchObject({ kind: 'quota', retryable: false });
  });

  it('a non-JSON error body falls back to the HTTP status and redacts the key', async () => {
    upstream.enqueue({ type: 'error', status: 502, body: `<html>bad gateway for key=${API_KEY}</html>` });
    const error = await chatError();
    expect(error).toMatchObject({ kind: 'server', status: 502 });
    expect(error.message).not.toContain(API_KEY);
  });

  it('a Retry-After header is used when there is no RetryInfo', async () => {
    upstream.enqueue({
      type: 'error',
      status: 429,
      body: { error: { code: 429, message: 'slow down', status: 'RESOURCE_EXHAUSTED' } },
      headers: { 'retry-after': '3' },
    });
    expect((await chatError()).retryAfterMs).toBe(3000);
  });
});

describe('parseGeminiRetryDelay', () => {
  it('reads protobuf durations', () => {
    expect(parseGeminiRetryDelay('34.4s')).toBe(34400);
    expect(parseGeminiRetryDelay('2s')).toBe(2000);
    expect(parseGeminiRetryDelay('0.5s')).toBe(500);
    expect(parseGeminiRetryDelay('soon')).toBeUndefined();
  });
});
