// Property-based fuzzing of a running gateway: arbitrary and adversarial bodies and headers on every route. Whatever
// a client sends, it gets an answer in an error envelope (or a success), never a 5xx of the gateway's own making; the
// process stays up, and no client input opens a deployment's breaker.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, startTestGateway, TEST_VENDOR_KEY, type TestGateway } from './test-helpers.ts';

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway({
    config: (upstream) => ({
      auth: { masterKey: 'fuzz-master-key-0123456789' },
      server: { bodyLimit: '256kb' },
      providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
      models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
      retry: { maxRetries: 1, baseDelayMs: 1 },
      breaker: { enabled: true, mode: 'consecutive', threshold: 1, halfOpenAfterMs: 600_000 },
    }),
  });
});
afterAll(async () => {
  await t.close();
});

// Mostly the routes that read a body, with the right method and key, so most inputs reach parsing and routing.
const route = fc.oneof(
  { arbitrary: fc.constantFrom('/v1/chat/completions', '/v1/messages', '/v1/embeddings'), weight: 8 },
  { arbitrary: fc.constantFrom('/v1/models', '/v1/nowhere', '/admin/x', '/health/ready'), weight: 1 },
);
const method = fc.oneof(
  { arbitrary: fc.constant('POST'), weight: 8 },
  { arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE'), weight: 1 },
);

/** Values that stress parsers and converters: deep nesting, odd numbers, long and odd strings. */
const adversarial = fc.oneof(
  fc.integer({ min: 1, max: 3000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  fc.integer({ min: 1, max: 3000 }).map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
  fc.constantFrom('1e400', '-0', 'NaN', 'null', 'true', '""', '"\\ud800"', '[]', '{}', '"\\u0000"'),
  fc.string({ unit: 'binary', maxLength: 2000 }).map((text) => JSON.stringify(text)),
);

/** A valid body for each route that reads one: what a mutation starts from. */
function baseBody(path: string): Record<string, unknown> {
  const messages = [{ role: 'user', content: 'hi' }];
  if (path === '/v1/messages') return { model: 'chat', max_tokens: 16, messages };
  if (path === '/v1/embeddings') return { model: 'chat', input: 'hi' };
  return { model: 'chat', messages };
}

/** Replaces or adds one field of a valid body: a known field with a value of any type, or any field, adversarially. */
const mutation = fc.option(
  fc.record({
    field: fc.oneof(
      fc.constantFrom('model', 'messages', 'input', 'max_tokens', 'stream', 'tools', 'tool_choice', 'system'),
      fc.constantFrom('stream_options', 'response_format', 'temperature', 'thinking', 'metadata', 'n', 'stop'),
      fc.string({ maxLength: 20 }),
    ),
    value: fc.oneof(
      fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
      fc.constantFrom('up/gpt-4o-mini', 'up/..', 'up/', '/x', 'chat').map((model) => JSON.stringify(model)),
      adversarial,
    ),
  }),
  { freq: 4 },
);

function bodyFor(path: string, change: { field: string; value: string } | null): string {
  const base = baseBody(path);
  if (change === null) return JSON.stringify(base);
  const { [change.field]: _replaced, ...rest } = base;
  const text = JSON.stringify(rest);
  return `${text.slice(0, -1)}${text.length > 2 ? ',' : ''}${JSON.stringify(change.field)}:${change.value}}`;
}

const otherBody = fc.oneof(
  fc.json({ maxDepth: 6 }),
  fc.string({ unit: 'binary', maxLength: 3000 }),
  fc.uint8Array({ maxLength: 3000 }).map((bytes) => Buffer.from(bytes)),
);

const headers = fc.record(
  {
    authorization: fc.oneof(
      { arbitrary: fc.constant('Bearer fuzz-master-key-0123456789'), weight: 8 },
      {
        arbitrary: fc.string({ maxLength: 4000 }).map((text) => `Bearer ${text.replace(/[^\t\x20-\x7e]/g, '')}`),
        weight: 1,
      },
      { arbitrary: fc.constantFrom('Bearer', 'Basic abc', '', 'Bearer  \t '), weight: 1 },
    ),
    'x-api-key': fc.string({ maxLength: 200 }).map((text) => text.replace(/[^\x20-\x7e]/g, '')),
    'content-type': fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', ''),
    'x-request-id': fc.string({ maxLength: 300 }).map((text) => text.replace(/[^\x20-\x7e]/g, '')),
    'x-gw-priority': fc.oneof(fc.integer({ min: -5, max: 15 }).map(String), fc.constantFrom('', 'x', '1e3')),
  },
  { requiredKeys: ['authorization'] },
);

/** An error body in the OpenAI or Anthropic envelope. */
function isEnvelope(text: string): boolean {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return false;
  }
  if (typeof body !== 'object' || body === null) return false;
  const error: unknown = Reflect.get(body, 'error');
  if (typeof error !== 'object' || error === null) return false;
  return typeof Reflect.get(error, 'message') === 'string' && typeof Reflect.get(error, 'type') === 'string';
}

describe('fuzzing every route of a running gateway', () => {
  it('answers anything a client sends without a 5xx of its own, in an error envelope, and stays healthy', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        route,
        method,
        mutation,
        otherBody,
        fc.nat(9),
        headers,
        async (path, method, change, other, dice, sent) => {
          const withBody = method === 'POST' || method === 'PUT';
          // Mostly a valid body with one field changed; sometimes anything at all.
          const body = dice < 8 ? bodyFor(path, change) : other;
          const answer = await rawRequest(`${t.url}${path}`, {
            method,
            headers: Object.fromEntries(Object.entries(sent).filter(([, value]) => value !== '')),
            ...(withBody ? { body } : {}),
          });
          seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
          expect(answer.status, `${method} ${path}`).toBeLessThan(500);
          if (answer.status >= 400) expect(isEnvelope(answer.body), answer.body.slice(0, 300)).toBe(true);
        },
      ),
      { numRuns: 400, interruptAfterTimeLimit: 30_000 },
    );
    // Most inputs got past auth and routing to parsing, and some all the way to the upstream.
    expect((seen.get(400) ?? 0) + (seen.get(200) ?? 0)).toBeGreaterThan(
      [...seen.values()].reduce((a, b) => a + b, 0) / 3,
    );
    expect(seen.get(200) ?? 0).toBeGreaterThan(0);
    expect((await rawRequest(`${t.url}/health/live`)).status).toBe(200);
    expect(t.gateway.state.healthView().breakers.every((breaker) => breaker.state === 'closed')).toBe(true);
    expect(t.logs.filter((line) => line.includes('"level":"error"'))).toEqual([]);
  }, 60_000);
});
