// The router over real HTTP: one stand-in upstream serves every deployment, told apart by the model name the router
// writes into each request; failures are scripted per model. Time is an injected clock, never the wall clock.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChatCompletionRequest } from '../chat-api.ts';
import { createProvider } from '../create-provider.ts';
import { isProviderError } from '../provider-error.ts';
import type { Provider } from '../provider.ts';
import { startStandInUpstream } from '../testing/stand-in-upstream.ts';
import type { StandInBehaviour, StandInUpstream } from '../testing/stand-in-types.ts';
import { createRouter } from './create-router.ts';
import type { ModelAliasConfig, RouterEvent, RouterOptions } from './router-types.ts';
import { modelOf, rejection } from '../__fixtures__/provider-test-kit.ts';

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

/** The deployments (upstream models) that received requests, in order. */
function served(): unknown[] {
  return upstream.requests.map(modelOf);
}

/** Every model answers normally except those given a behaviour. */
function script(behaviours: Record<string, StandInBehaviour | (() => StandInBehaviour)>): void {
  upstream.setDefault((request) => {
    const model = modelOf(request);
    const behaviour = typeof model === 'string' ? behaviours[model] : undefined;
    if (behaviour === undefined) return { type: 'chat' };
    return typeof behaviour === 'function' ? behaviour() : behaviour;
  });
}

function alias(name: string, models: string[], extra: Partial<ModelAliasConfig> = {}): ModelAliasConfig {
  return { name, deployments: models.map((model) => ({ provider, model })), ...extra };
}

function router(models: ModelAliasConfig[], extra: Partial<RouterOptions> = {}) {
  const events: RouterEvent[] = [];
  const instance = createRouter({ models, now: () => clock, onEvent: (event) => events.push(event), ...extra });
  return { router: instance, events };
}

const request = (model: string): ChatCompletionRequest => ({ model, messages: [{ role: 'user', content: 'Say hi' }] });

async function chatTimes(instance: ReturnType<typeof router>['router'], model: string, times: number): Promise<void> {
  for (let index = 0; index < times; index++) await instance.chat(request(model));
}

const CONTEXT_WINDOW: StandInBehaviour = {
  type: 'error',
  status: 400,
  body: {
    error: {
      message: "This model's maximum context length is 128000 tokens.",
      type: 'invalid_request_error',
      param: 'messages',
      code: 'context_length_exceeded',
    },
  },
};
const CONTENT_FILTER: StandInBehaviour = {
  type: 'error',
  status: 400,
  body: {
    error: {
      message: 'The response was filtered.',
      type: 'invalid_request_error',
      param: 'prompt',
      code: 'content_filter',
    },
  },
};

describe('strategies', () => {
  it('round-robin: cycles through the deployments in order and rewrites model to each', async () => {
    const { router: instance } = router([alias('chat', ['a', 'b', 'c'])]);
    const response = await instance.chat(request('chat'));
    await chatTimes(instance, 'chat', 5);
    expect(served()).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
    expect(response.model).toBe('a');
  });

  it('weighted: smooth weighted round-robin, exact over each cycle and interleaved', async () => {
    const { router: instance } = router([
      {
        name: 'chat',
        strategy: 'weighted',
        deployments: [
          { provider, model: 'heavy', weight: 3 },
          { provider, model: 'light', weight: 1 },
        ],
      },
    ]);
    await chatTimes(instance, 'chat', 8);
    expect(served()).toEqual(['heavy', 'heavy', 'light', 'heavy', 'heavy', 'heavy', 'light', 'heavy']);
  });

  it('least-busy: avoids the deployment with a stream in flight, ties go round-robin', async () => {
    const { router: instance } = router([alias('chat', ['a', 'b'], { strategy: 'least-busy' })]);
    const stream = instance.chatStream(request('chat'));
    await stream.next();
    await chatTimes(instance, 'chat', 2);
    expect(instance.health().map((health) => health.inFlight)).toEqual([1, 0]);
    await stream.return?.();
    await chatTimes(instance, 'chat', 2);
    expect(served()).toEqual(['a', 'b', 'b', 'a', 'b']);
  });

  it('latency: measures every deployment first, then prefers the lowest EWMA and follows changes', async () => {
    const latency: Record<string, number> = { a: 300, b: 100, c: 200 };
    upstream.setDefault((recorded) => {
      const model = modelOf(recorded);
      clock += typeof model === 'string' ? (latency[model] ?? 0) : 0;
      return { type: 'chat' };
    });
    const { router: instance } = router([alias('chat', ['a', 'b', 'c'], { strategy: 'latency' })]);
    await chatTimes(instance, 'chat', 5);
    expect(served()).toEqual(['a', 'b', 'c', 'b', 'b']);
    latency['b'] = 1000; // EWMA of b becomes 0.3 × 1000 + 0.7 × 100 = 370, worse than c's 200
    await chatTimes(instance, 'chat', 2);
    expect(served().slice(5)).toEqual(['b', 'c']);
    expect(instance.health().map((health) => health.ewmaTtftMs)).toEqual([300, 370, 200]);
  });

  it('cost: the cheapest healthy deployment; unknown prices sort last', async () => {
    const prices: Record<string, number> = { cheap: 1, dear: 5 };
    const { router: instance } = router([alias('chat', ['unpriced', 'dear', 'cheap'], { strategy: 'cost' })], {
      price: (deployment) => prices[deployment.model],
    });
    await chatTimes(instance, 'chat', 2);
    script({ cheap: { type: 'error', status: 503 }, dear: { type: 'error', status: 503 } });
    await chatTimes(instance, 'chat', 1);
    expect(served()).toEqual(['cheap', 'cheap', 'cheap', 'dear', 'unpriced']);
  });
});

describe('cooldowns', () => {
  it('a failing deployment cools down, the other takes the traffic, and it comes back after the cooldown', async () => {
    script({ a: { type: 'error', status: 503 } });
    const { router: instance, events } = router([alias('chat', ['a', 'b'])]);
    const response = await instance.chat(request('chat'));
    expect(response.model).toBe('b');
    expect(instance.health()[0]).toMatchObject({
      id: 'standin/a',
      cooldownUntil: 30_000,
      lastErrorKind: 'overloaded',
      failures: 1,
      calls: 1,
    });
    await chatTimes(instance, 'chat', 3);
    expect(served()).toEqual(['a', 'b', 'b', 'b', 'b']);

    upstream.setDefault({ type: 'chat' });
    clock = 29_999;
    await chatTimes(instance, 'chat', 1);
    clock = 30_000;
    await chatTimes(instance, 'chat', 2);
    expect(served().slice(5)).toEqual(['b', 'a', 'b']);
    expect(instance.health()[0]?.cooldownUntil).toBeUndefined();
    expect(events.filter((event) => event.type.startsWith('cooldown')).map((event) => event.type)).toEqual([
      'cooldown-start',
      'cooldown-end',
    ]);
  });

  it('cools down only after afterFailures consecutive failures, for as long as Retry-After asks when longer', async () => {
    script({ a: { type: 'error', status: 429, headers: { 'retry-after': '120' } } });
    const { router: instance } = router([alias('chat', ['a', 'b'])], {
      cooldown: { afterFailures: 2, cooldownMs: 10_000 },
    });
    await chatTimes(instance, 'chat', 3);
    expect(served()).toEqual(['a', 'b', 'a', 'b', 'b']);
    expect(instance.health()[0]?.cooldownUntil).toBe(120_000);
  });

  it('cooldown.onlyFor limits the kinds that cool a deployment', async () => {
    script({ a: { type: 'error', status: 429 } });
    const { router: instance } = router([alias('chat', ['a', 'b'])], { cooldown: { onlyFor: ['overloaded'] } });
    await chatTimes(instance, 'chat', 2);
    expect(served()).toEqual(['a', 'b', 'a', 'b']);
    expect(instance.health()[0]).toMatchObject({ failures: 2, lastErrorKind: 'rate_limit', cooldownUntil: undefined });
  });

  it('when every deployment is cooling, tries the least recently failed one instead of failing outright', async () => {
    script({
      a: () => {
        clock += 5;
        return { type: 'error', status: 503 };
      },
      b: () => {
        clock += 5;
        return { type: 'error', status: 503 };
      },
    });
    const { router: instance, events } = router([alias('chat', ['a', 'b'])]);
    const error = await rejection(instance.chat(request('chat')));
    expect(error.kind).toBe('overloaded');
    expect(instance.health().map((health) => health.cooldownUntil)).toEqual([30_005, 30_010]);

    upstream.setDefault({ type: 'chat' });
    const response = await instance.chat(request('chat'));
    expect(response.model).toBe('a');
    expect(events.at(-1)).toMatchObject({ type: 'deployment-chosen', cooling: true });
    expect(served()).toEqual(['a', 'b', 'a']);
  });

  it('authentication failures cool the deployment and move on to the alias’s other deployment, not to fallbacks', async () => {
    script({ a: { type: 'error', status: 401 }, b: { type: 'error', status: 401 } });
    const { router: instance } = router([alias('chat', ['a', 'b'], { fallbacks: ['backup'] }), alias('backup', ['z'])]);
    const error = await rejection(instance.chat(request('chat')));
    expect(error.kind).toBe('authentication');
    expect(served()).toEqual(['a', 'b']);
    expect(instance.health()[0]?.cooldownUntil).toBe(30_000);
  });
});

describe('fallbacks', () => {
  it('a model whose only deployment always fails is answered by its fallback alias', async () => {
    script({ flaky: { type: 'error', status: 500 } });
    const { router: instance, events } = router([
      alias('chat', ['flaky'], { fallbacks: ['backup'] }),
      alias('backup', ['steady']),
    ]);
    const response = await instance.chat(request('chat'));
    expect(response.model).toBe('steady');
    expect(served()).toEqual(['flaky', 'steady']);
    expect(events).toContainEqual({ type: 'fallback', from: 'chat', to: 'backup', reason: 'retryable' });
  });

  it('tries every deployment of the alias before its fallbacks, each once; the final error carries the earlier ones', async () => {
    upstream.setDefault({ type: 'error', status: 503 });
    const { router: instance } = router([alias('chat', ['a', 'b'], { fallbacks: ['backup'] }), alias('backup', ['z'])]);
    const error = await rejection(instance.chat(request('chat')));
    expect(served()).toEqual(['a', 'b', 'z']);
    expect(error).toMatchObject({ kind: 'overloaded', status: 503 });
    expect(error.cause).toBeInstanceOf(AggregateError);
    const attempts: unknown[] = error.cause instanceof AggregateError ? error.cause.errors : [];
    expect(attempts.map((attempt) => (isProviderError(attempt) ? attempt.kind : attempt))).toEqual([
      'overloaded',
      'overloaded',
      'overloaded',
    ]);
  });

  it('context_window goes to contextWindowFallbacks only, without trying the other deployments or the normal fallbacks', async () => {
    script({ a: CONTEXT_WINDOW, b: CONTEXT_WINDOW });
    const { router: instance, events } = router([
      alias('chat', ['a', 'b'], { fallbacks: ['backup'], contextWindowFallbacks: ['long'] }),
      alias('backup', ['z']),
      alias('long', ['long-context']),
    ]);
    const response = await instance.chat(request('chat'));
    expect(response.model).toBe('long-context');
    expect(served()).toEqual(['a', 'long-context']);
    expect(events).toContainEqual({ type: 'fallback', from: 'chat', to: 'long', reason: 'context_window' });
    expect(instance.health()[0]).toMatchObject({ cooldownUntil: undefined, failures: 0 });
  });

  it('a retryable failure of a context-window fallback moves along contextWindowFallbacks, not the normal list', async () => {
    script({ a: CONTEXT_WINDOW, 'long-1': { type: 'error', status: 503 } });
    const { router: instance } = router([
      alias('chat', ['a'], { fallbacks: ['backup'], contextWindowFallbacks: ['long', 'longer'] }),
      alias('backup', ['z']),
      alias('long', ['long-1']),
      alias('longer', ['long-2']),
    ]);
    const response = await instance.chat(request('chat'));
    expect(response.model).toBe('long-2');
    expect(served()).toEqual(['a', 'long-1', 'long-2']);
  });

  it('context_window without contextWindowFallbacks is the answer, even with normal fallbacks', async () => {
    script({ a: CONTEXT_WINDOW });
    const { router: instance } = router([alias('chat', ['a'], { fallbacks: ['backup'] }), alias('backup', ['z'])]);
    const error = await rejection(instance.chat(request('chat')));
    expect(error.kind).toBe('context_window');
    expect(served()).toEqual(['a']);
  });

  it('content_filter goes to contentFilterFallbacks', async () => {
    script({ strict: CONTENT_FILTER });
    const { router: instance, events } = router([
      alias('chat', ['strict'], { fallbacks: ['backup'], contentFilterFallbacks: ['lenient'] }),
      alias('backup', ['z']),
      alias('lenient', ['relaxed']),
    ]);
    const response = await instance.chat(request('chat'));
    expect(response.model).toBe('relaxed');
    expect(served()).toEqual(['strict', 'relaxed']);
    expect(events).toContainEqual({ type: 'fallback', from: 'chat', to: 'lenient', reason: 'content_filter' });
  });

  it('a 400 is not retried elsewhere: no other deployment, no fallback, no cooldown', async () => {
    upstream.setDefault({
      type: 'error',
      status: 400,
      body: {
        error: {
          message: "Invalid value for 'temperature'",
          type: 'invalid_request_error',
          param: 'temperature',
          code: null,
        },
      },
    });
    const { router: instance } = router([alias('chat', ['a', 'b'], { fallbacks: ['backup'] }), alias('backup', ['z'])]);
    const error = await rejection(instance.chat(request('chat')));
    expect(error).toMatchObject({ kind: 'invalid_request', status: 400, param: 'temperature' });
    expect(served()).toEqual(['a']);
    expect(instance.health()[0]).toMatchObject({ cooldownUntil: undefined, failures: 0, calls: 1 });
  });

  it('falls back across vendors: an OpenAI deployment to an Anthropic one on a second upstream', async () => {
    const second = await startStandInUpstream();
    try {
      upstream.setDefault({ type: 'error', status: 503 });
      second.setDefault({ type: 'chat', content: 'Hi from Claude.' });
      const anthropic = createProvider({
        kind: 'anthropic',
        id: 'claude',
        baseUrl: second.baseUrl,
        apiKey: 'sk-ant-router-test',
      });
      const { router: instance } = router([
        alias('chat', ['gpt-4o-mini'], { fallbacks: ['claude'] }),
        { name: 'claude', deployments: [{ provider: anthropic, model: 'claude-sonnet-4-5' }] },
      ]);
      const response = await instance.chat(request('chat'));
      expect(response.choices[0]?.message.content).toBe('Hi from Claude.');
      expect(second.requests[0]?.path).toBe('/v1/messages');
      expect(second.requests.map(modelOf)).toEqual(['claude-sonnet-4-5']);
    } finally {
      await second.close();
    }
  });

  it('an unknown alias is a not_found error without any upstream call', async () => {
    const { router: instance } = router([alias('chat', ['a'])]);
    const error = await rejection(instance.chat(request('gpt-5')));
    expect(error).toMatchObject({ kind: 'not_found', status: 404, code: 'model_not_found', param: 'model' });
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('plug-ins, aborts and embeddings', () => {
  it('uses the attempt wrapper around each deployment call (here: one retry on the same deployment)', async () => {
    let failures = 1;
    script({
      a: () => {
        if (failures === 0) return { type: 'chat' };
        failures -= 1;
        return { type: 'error', status: 503 };
      },
    });
    const wrapped: string[] = [];
    const { router: instance } = router([alias('chat', ['a', 'b'])], {
      attempt: async (deployment, call, signal) => {
        wrapped.push(deployment.id);
        try {
          return await call(signal);
        } catch {
          return call(signal);
        }
      },
    });
    const attempts: string[] = [];
    const deployments: string[] = [];
    const response = await instance.chat(request('chat'), {
      onAttempt: (deployment) => void attempts.push(deployment.id),
      onDeployment: (deployment) => void deployments.push(deployment.id),
    });
    expect(response.model).toBe('a');
    expect(wrapped).toEqual(['standin/a']);
    expect(served()).toEqual(['a', 'a']);
    // Two upstream calls on one deployment: onAttempt counts the calls, onDeployment the deployments.
    expect(attempts).toEqual(['standin/a', 'standin/a']);
    expect(deployments).toEqual(['standin/a']);
    expect(instance.health()[0]).toMatchObject({ calls: 1, failures: 0, cooldownUntil: undefined });
  });

  it('an error of the attempt wrapper is read by shape: retryable moves on without cooling the deployment', async () => {
    const { router: instance, events } = router([alias('chat', ['a', 'b'])], {
      attempt: async (deployment, call, signal) => {
        if (deployment.model === 'a')
          throw Object.assign(new Error('Circuit open'), { name: 'BrokenCircuitError', retryable: true });
        return call(signal);
      },
    });
    const response = await instance.chat(request('chat'));
    expect(response.model).toBe('b');
    expect(served()).toEqual(['b']);
    expect(instance.health()[0]).toMatchObject({ failures: 1, cooldownUntil: undefined, lastErrorKind: undefined });
    expect(events.filter((event) => event.type === 'attempt-failed')).toHaveLength(1);
  });

  it('an error of the attempt wrapper without kind or retryable is thrown as it is', async () => {
    const failure = new TypeError('bug in a wrapper');
    const { router: instance } = router([alias('chat', ['a', 'b'])], {
      attempt: async () => {
        throw failure;
      },
    });
    await expect(instance.chat(request('chat'))).rejects.toBe(failure);
    expect(upstream.requests).toHaveLength(0);
  });

  it('acquires a slot per attempt with the priority and releases it when the call settles', async () => {
    script({ a: { type: 'error', status: 503 } });
    const log: string[] = [];
    const { router: instance } = router([alias('chat', ['a', 'b'])], {
      acquire: async (deployment, { priority }) => {
        log.push(`acquire ${deployment.model} ${priority}`);
        return () => log.push(`release ${deployment.model}`);
      },
    });
    await instance.chat(request('chat'), { priority: 2 });
    expect(log).toEqual(['acquire a 2', 'release a', 'acquire b 2', 'release b']);
  });

  it('an abort is neither retried elsewhere nor a fallback, and cools nothing', async () => {
    const controller = new AbortController();
    upstream.setDefault(() => {
      controller.abort();
      return { type: 'chat', delayMs: 5_000 };
    });
    const { router: instance } = router([alias('chat', ['a', 'b'], { fallbacks: ['backup'] }), alias('backup', ['z'])]);
    const error = await rejection(instance.chat(request('chat'), { signal: controller.signal }));
    expect(error.kind).toBe('cancelled');
    expect(served()).toEqual(['a']);
    expect(instance.health()[0]).toMatchObject({ failures: 0, cooldownUntil: undefined, inFlight: 0 });
  });

  it('routes embeddings with the deployment model written in', async () => {
    const { router: instance } = router([alias('embed', ['text-embedding-3-small', 'text-embedding-3-large'])]);
    await instance.embed({ model: 'embed', input: 'hello' });
    const response = await instance.embed({ model: 'embed', input: 'hello' });
    expect(served()).toEqual(['text-embedding-3-small', 'text-embedding-3-large']);
    expect(response.data).toHaveLength(1);
  });

  it('refuses an invalid configuration', () => {
    expect(() => router([alias('chat', ['a'], { fallbacks: ['nowhere'] })])).toThrow(/not a configured alias/);
    expect(() => router([alias('chat', [])])).toThrow(/no deployment/);
    expect(() => router([alias('chat', ['a'], { strategy: 'cost' })])).toThrow(
      'createRouter: "chat" routes by cost, but no price option was given',
    );
    expect(() => router([alias('chat', ['a']), alias('chat', ['b'])])).toThrow(/twice/);
    expect(() => router([{ name: 'chat', deployments: [{ provider, model: 'a', weight: 0 }] }])).toThrow(
      /positive weight/,
    );
  });

  it('lists deployments with unique default ids', () => {
    const { router: instance } = router([alias('chat', ['a', 'a']), alias('other', ['a'])]);
    expect(instance.deployments().map((deployment) => [deployment.alias, deployment.id])).toEqual([
      ['chat', 'standin/a'],
      ['chat', 'standin/a#2'],
      ['other', 'standin/a#3'],
    ]);
  });
});
