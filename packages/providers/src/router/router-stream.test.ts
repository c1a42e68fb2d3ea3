// The router's chatStream over real HTTP against the stand-in upstream: failures before the first chunk are routed
// invisibly, failures after it reach the consumer, slots are held until the stream ends. Injected clock only.
import { hasTakeBuffered } from '@gw/stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ChatCompletionChunk, ChatCompletionRequest } from '../chat-api.ts';
import { createProvider } from '../create-provider.ts';
import { isProviderError } from '../provider-error.ts';
import type { ProviderError } from '../provider-error.ts';
import type { Provider } from '../provider.ts';
import { startStandInUpstream } from '../testing/stand-in-upstream.ts';
import type { StandInBehaviour, StandInUpstream } from '../testing/stand-in-types.ts';
import { modelOf } from '../__fixtures__/provider-test-kit.ts';
import { createRouter } from './create-router.ts';
import type { ModelAliasConfig, RouterOptions } from './router-types.ts';

let upstream: StandInUpstream;
let provider: Provider;
let clock = 0;

beforeAll(async () => {
  upstream = await startStandInUpstream();
  provider = createProvider({ kind: 'openai', id: 'standin', baseUrl: upstream.baseUrl, apiKey: 'sk-router-test' });
});
afterEach(() => {
  upstream.reset();
  upstream.setDefault({ type: 'chat' });
  clock = 0;
});
afterAll(async () => {
  await upstream.close();
});

function served(): unknown[] {
  return upstream.requests.map(modelOf);
}

function script(behaviours: Record<string, StandInBehaviour>): void {
  upstream.setDefault((request) => {
    const model = modelOf(request);
    return (
      (typeof model === 'string' ? behaviours[model] : undefined) ?? {
        type: 'chat',
        content: `answer from ${String(model)}`,
      }
    );
  });
}

function alias(name: string, models: string[], extra: Partial<ModelAliasConfig> = {}): ModelAliasConfig {
  return { name, deployments: models.map((model) => ({ provider, model })), ...extra };
}

function router(models: ModelAliasConfig[], extra: Partial<RouterOptions> = {}) {
  return createRouter({ models, now: () => clock, ...extra });
}

const request: ChatCompletionRequest = { model: 'chat', messages: [{ role: 'user', content: 'Say hi' }] };

function text(chunks: ChatCompletionChunk[]): string {
  return chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
}

/** Reads the stream to its end or its error. */
async function drain(
  stream: AsyncIterable<ChatCompletionChunk>,
): Promise<{ chunks: ChatCompletionChunk[]; error: ProviderError | undefined }> {
  const chunks: ChatCompletionChunk[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk);
  } catch (error) {
    if (isProviderError(error)) return { chunks, error };
    throw error;
  }
  return { chunks, error: undefined };
}

/** An `acquire` that logs what happens to the slots. */
function slotLog() {
  const log: string[] = [];
  const acquire: RouterOptions['acquire'] = async (deployment) => {
    log.push(`acquire ${deployment.model}`);
    return () => log.push(`release ${deployment.model}`);
  };
  return { log, acquire };
}

describe('before the first chunk', () => {
  it('an HTTP error moves on to the next deployment without the consumer noticing', async () => {
    script({ a: { type: 'error', status: 503 } });
    const { chunks, error } = await drain(router([alias('chat', ['a', 'b'])]).chatStream(request));
    expect(error).toBeUndefined();
    expect(text(chunks)).toBe('answer from b');
    expect(chunks.at(-1)?.usage).toBeDefined();
    expect(served()).toEqual(['a', 'b']);
  });

  it('an in-stream error before any chunk also moves on, here to the fallback alias', async () => {
    script({ a: { type: 'chat', errorAfterChunks: 0, errorType: 'server_error' } });
    const { chunks, error } = await drain(
      router([alias('chat', ['a'], { fallbacks: ['backup'] }), alias('backup', ['z'])]).chatStream(request),
    );
    expect(error).toBeUndefined();
    expect(text(chunks)).toBe('answer from z');
    expect(served()).toEqual(['a', 'z']);
  });

  it('a 400 is thrown by the first next(), nothing else is tried', async () => {
    upstream.setDefault({ type: 'error', status: 400 });
    const { chunks, error } = await drain(router([alias('chat', ['a', 'b'])]).chatStream(request));
    expect(chunks).toEqual([]);
    expect(error?.kind).toBe('invalid_request');
    expect(served()).toEqual(['a']);
  });

  it('feeds the time to first chunk into the latency EWMA', async () => {
    upstream.setDefault(() => {
      clock += 40;
      return { type: 'chat' };
    });
    const instance = router([alias('chat', ['a'], { strategy: 'latency' })]);
    await drain(instance.chatStream(request));
    await drain(instance.chatStream(request));
    expect(instance.health()[0]?.ewmaTtftMs).toBe(40);
  });
});

describe('after the first chunk', () => {
  it('a cut connection is thrown to the consumer, never retried silently', async () => {
    script({ a: { type: 'chat', content: 'one two three four five', cutAfterChunks: 3 } });
    const instance = router([alias('chat', ['a', 'b'], { fallbacks: ['backup'] }), alias('backup', ['z'])]);
    const { chunks, error } = await drain(instance.chatStream(request));
    expect(chunks.length).toBeGreaterThan(0);
    expect(error?.kind).toBe('connection');
    expect(served()).toEqual(['a']);
    expect(instance.health()[0]).toMatchObject({
      failures: 1,
      lastErrorKind: 'connection',
      cooldownUntil: 30_000,
      inFlight: 0,
    });
  });

  it('an in-stream error is thrown to the consumer as the adapter raised it', async () => {
    script({ a: { type: 'chat', content: 'one two three', errorAfterChunks: 2, errorType: 'server_error' } });
    const { chunks, error } = await drain(router([alias('chat', ['a', 'b'])]).chatStream(request));
    expect(chunks).toHaveLength(2);
    expect(error?.kind).toBe('server');
    expect(served()).toEqual(['a']);
  });
});

describe('slots and the attempt wrapper', () => {
  it('acquires a slot per attempt and releases the chosen one when the stream ends', async () => {
    script({ a: { type: 'error', status: 503 } });
    const { log, acquire } = slotLog();
    const instance = router([alias('chat', ['a', 'b'])], { acquire });
    const stream = instance.chatStream(request);
    await stream.next();
    expect(log).toEqual(['acquire a', 'release a', 'acquire b']);
    expect(instance.health()[1]?.inFlight).toBe(1);
    await drain(stream);
    expect(log).toEqual(['acquire a', 'release a', 'acquire b', 'release b']);
    expect(instance.health()[1]?.inFlight).toBe(0);
  });

  it('return() aborts the upstream at once and releases the slot', async () => {
    upstream.setDefault({ type: 'chat', content: 'one two three four', stallAfterChunks: 2 });
    const { log, acquire } = slotLog();
    const instance = router([alias('chat', ['a'])], { acquire });
    const stream = instance.chatStream(request);
    await stream.next();
    await stream.return?.();
    expect(log).toEqual(['acquire a', 'release a']);
    expect(instance.health()[0]).toMatchObject({ inFlight: 0, failures: 0 });
    await vi.waitFor(() => expect(upstream.requests[0]?.aborted).toBe(true));
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('return() while the first next() is pending aborts the call being opened', async () => {
    upstream.setDefault({ type: 'chat', delayMs: 10_000 });
    const { log, acquire } = slotLog();
    const instance = router([alias('chat', ['a', 'b'])], { acquire });
    const stream = instance.chatStream(request);
    const first = stream.next();
    await vi.waitFor(() => expect(upstream.requests).toHaveLength(1));
    await stream.return?.();
    await expect(first).rejects.toMatchObject({ kind: 'cancelled' });
    expect(log).toEqual(['acquire a', 'release a']);
    expect(served()).toEqual(['a']);
    expect(instance.health()[0]).toMatchObject({ inFlight: 0, failures: 0, cooldownUntil: undefined });
  });

  it('the caller’s signal cancels the stream without a fallback', async () => {
    const controller = new AbortController();
    upstream.setDefault({ type: 'chat', content: 'one two three', stallAfterChunks: 2 });
    const instance = router([alias('chat', ['a'], { fallbacks: ['backup'] }), alias('backup', ['z'])]);
    const stream = instance.chatStream(request, { signal: controller.signal });
    await stream.next();
    const pending = stream.next().then(() => stream.next());
    controller.abort();
    await expect(pending).rejects.toMatchObject({ kind: 'cancelled' });
    expect(served()).toEqual(['a']);
    expect(instance.health()[0]).toMatchObject({ inFlight: 0, failures: 0 });
  });

  it('opens the stream inside the attempt wrapper, which may retry the opening', async () => {
    upstream.enqueue({ type: 'error', status: 502 });
    const wrapped: string[] = [];
    const instance = router([alias('chat', ['a', 'b'])], {
      attempt: async (deployment, call, signal) => {
        wrapped.push(deployment.model);
        try {
          return await call(signal);
        } catch {
          return call(signal);
        }
      },
    });
    const { chunks, error } = await drain(instance.chatStream(request));
    expect(error).toBeUndefined();
    expect(chunks.length).toBeGreaterThan(1);
    expect(wrapped).toEqual(['a']);
    expect(served()).toEqual(['a', 'a']);
  });

  it('hands over chunks already at hand through takeBuffered, like the adapter it routes to', async () => {
    upstream.setDefault({ type: 'chat', content: 'one two three four five six' });
    const stream = router([alias('chat', ['a'])]).chatStream(request);
    expect(hasTakeBuffered(stream)).toBe(true);
    if (!hasTakeBuffered(stream)) return;
    expect(stream.takeBuffered()).toBeUndefined(); // nothing before the first next()
    const chunks: ChatCompletionChunk[] = [];
    for (let result = await stream.next(); result.done !== true; result = await stream.next()) {
      chunks.push(result.value);
      for (let chunk = stream.takeBuffered(); chunk !== undefined; chunk = stream.takeBuffered()) chunks.push(chunk);
    }
    expect(text(chunks)).toBe('one two three four five six');
    expect(chunks.at(-1)?.usage).toBeDefined();
  });

  it('answers next() calls made before the first one settled, in order', async () => {
    upstream.setDefault({ type: 'chat', content: 'one two' });
    const stream = router([alias('chat', ['a'])]).chatStream(request);
    const results = await Promise.all([stream.next(), stream.next(), stream.next()]);
    expect(
      results.map((result) => (result.done === true ? 'done' : (result.value.choices[0]?.delta.content ?? ''))),
    ).toEqual(['', 'one ', 'two']);
    expect(upstream.requests).toHaveLength(1);
  });
});
