// A vendor, or a proxy in front of it, that echoes credentials in every field of its errors: whatever it sends, no
// secret reaches a ProviderError, on every adapter, whether the error came as an HTTP answer or inside a stream.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collect, rejection } from './__fixtures__/provider-test-kit.ts';
import { encodeEventStreamMessage } from './bedrock/event-stream-codec.ts';
import { createProvider } from './create-provider.ts';
import type { ProviderError } from './provider-error.ts';
import type { Provider, ProviderConfig } from './provider.ts';
import { startStandInUpstream } from './testing/stand-in-upstream.ts';
import type { StandInBehaviour, StandInUpstream } from './testing/stand-in-types.ts';

const OWN_KEY = 'own-key-5b1e9c7d3a2f4e6b8c0d';
const OTHER_KEY = 'other-provider-key-8d2c4f6a0b1e3d5c';
const SECRET_ACCESS_KEY = 'aws-secret-7f3e1d9c5b2a4e6f8a0c';

let upstream: StandInUpstream;

beforeAll(async () => {
  upstream = await startStandInUpstream();
});
afterEach(() => {
  upstream.reset();
});
afterAll(async () => {
  await upstream.close();
});

/** Every form a key is echoed in: whole, after 990 characters (straddling the 1000-character cut), as a Bearer. */
function echo(key: string): string {
  return `${'x'.repeat(990)}${key} Authorization: Bearer ${key}`;
}

/** Not one of `keys`, nor the first characters of one cut in half, in any field a client could see. */
function expectClean(error: ProviderError, keys: readonly string[]): void {
  const visible = JSON.stringify({
    message: error.message,
    code: error.code,
    type: error.type,
    param: error.param,
  });
  for (const key of keys) expect(visible).not.toContain(key.slice(0, 10));
}

const request = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }] };

interface Case {
  name: string;
  /** The secrets the provider knows: its own credentials and the ones it was given to scrub. */
  keys: readonly string[];
  config: (upstream: StandInUpstream) => ProviderConfig;
  /** An HTTP error answer echoing `key` in every field the vendor's error format has. */
  httpError: (key: string) => StandInBehaviour;
  /** A stream that fails after its first event, its error echoing `key`. */
  streamError: (key: string) => StandInBehaviour;
}

const openAIError = (key: string) => ({
  error: { message: echo(key), type: echo(key), code: echo(key), param: echo(key) },
});

const cases: Case[] = [
  {
    name: 'openai',
    keys: [OWN_KEY, OTHER_KEY],
    config: (up) => ({ kind: 'openai', baseUrl: up.baseUrl, apiKey: OWN_KEY, secrets: [OTHER_KEY] }),
    httpError: (key) => ({ type: 'error', status: 400, body: openAIError(key) }),
    streamError: (key) => ({
      type: 'raw',
      headers: { 'content-type': 'text/event-stream' },
      body:
        'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\n\n' +
        `data: ${JSON.stringify(openAIError(key))}\n\n`,
    }),
  },
  {
    name: 'anthropic',
    keys: [OWN_KEY, OTHER_KEY],
    config: (up) => ({ kind: 'anthropic', baseUrl: up.baseUrl, apiKey: OWN_KEY, secrets: [OTHER_KEY] }),
    httpError: (key) => ({
      type: 'error',
      status: 400,
      body: { type: 'error', error: { type: echo(key), message: echo(key) } },
    }),
    streamError: (key) => ({
      type: 'raw',
      headers: { 'content-type': 'text/event-stream' },
      body:
        'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","model":"m","usage":{"input_tokens":1}}}\n\n' +
        `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: echo(key), message: echo(key) } })}\n\n`,
    }),
  },
  {
    name: 'gemini',
    keys: [OWN_KEY, OTHER_KEY],
    config: (up) => ({ kind: 'gemini', baseUrl: `${up.url}/v1beta`, apiKey: OWN_KEY, secrets: [OTHER_KEY] }),
    httpError: (key) => ({
      type: 'error',
      status: 400,
      body: {
        error: {
          code: 400,
          message: echo(key),
          status: echo(key),
          details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: echo(key) }],
        },
      },
    }),
    streamError: (key) => ({
      type: 'raw',
      headers: { 'content-type': 'text/event-stream' },
      body:
        'data: {"candidates":[{"content":{"role":"model","parts":[{"text":"Hi"}]}}]}\n\n' +
        `data: ${JSON.stringify({ error: { code: 500, message: echo(key), status: echo(key) } })}\n\n`,
    }),
  },
  {
    name: 'bedrock',
    keys: [SECRET_ACCESS_KEY, OWN_KEY, OTHER_KEY],
    config: (up) => ({
      kind: 'bedrock',
      region: 'us-east-1',
      baseUrl: up.url,
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: SECRET_ACCESS_KEY,
      secrets: [OTHER_KEY, OWN_KEY],
    }),
    httpError: (key) => ({
      type: 'error',
      status: 400,
      body: { message: echo(key) },
      headers: { 'x-amzn-errortype': `${key}:http://internal.amazon.com/coral/` },
    }),
    streamError: (key) => ({
      type: 'raw',
      body: Buffer.concat([
        encodeEventStreamMessage({ ':event-type': 'messageStart', ':message-type': 'event' }, '{"role":"assistant"}'),
        encodeEventStreamMessage(
          { ':exception-type': `${key}Exception`, ':message-type': 'exception' },
          JSON.stringify({ message: echo(key) }),
        ),
      ]),
    }),
  },
];

describe.each(cases)('a key-echoing vendor ($name)', ({ keys, config, httpError, streamError }) => {
  let provider: Provider;
  beforeAll(() => {
    provider = createProvider(config(upstream));
  });

  it.each(keys)('scrubs %s from every field of an HTTP error', async (key) => {
    upstream.enqueue(httpError(key), httpError(key));
    expectClean(await rejection(provider.chat(request)), keys);
    expectClean(await rejection(provider.chatStream(request).next()), keys);
  });

  it.each(keys)('scrubs %s from an error inside a stream', async (key) => {
    upstream.enqueue(streamError(key));
    expectClean(await rejection(collect(provider.chatStream(request))), keys);
  });
});

describe('ids copied from vendor headers', () => {
  it('scrubs a key echoed in Bedrock’s request id', async () => {
    const provider = createProvider(cases[3]!.config(upstream));
    upstream.enqueue({
      type: 'raw',
      status: 200,
      headers: { 'content-type': 'application/json', 'x-amzn-requestid': OTHER_KEY },
      body: JSON.stringify({
        output: { message: { role: 'assistant', content: [{ text: 'Hi' }] } },
        stopReason: 'end_turn',
      }),
    });
    const echoed = await provider.chat(request);
    expect(echoed.id).toBe('chatcmpl-bedrock-[redacted]');
  });
});
