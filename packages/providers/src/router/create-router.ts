import type { ChatCompletionRequest, ChatCompletionResponse } from '../chat-api.ts';
import type { EmbeddingRequest, EmbeddingResponse } from '../embedding-api.ts';
import type { AliasState, DeploymentState } from './deployment-state.ts';
import { createDeploymentState, healthOf, recordLatency } from './deployment-state.ts';
import { DEFAULT_COOLING_KINDS } from './error-disposition.ts';
import type { PriceOf } from './pick-deployment.ts';
import { isCooling, recordFailure, recordSuccess, routeRequest } from './route-request.ts';
import type { RoutingContext } from './route-request.ts';
import { routeStream } from './router-stream.ts';
import type {
  AttemptWrapper,
  ModelAliasConfig,
  Router,
  RouterCallOptions,
  RouterDeployment,
  RouterOptions,
} from './router-types.ts';

const DEFAULT_COOLDOWN_MS = 30_000;

const callOnce: AttemptWrapper = (_deployment, call, signal) => call(signal);

function noRelease(): void {}

// A signal that never fires, for calls made without one (one per call: listeners must not pile up on a shared one).
function signalOf(options: RouterCallOptions): AbortSignal {
  return options.signal ?? new AbortController().signal;
}

function buildAliases(models: readonly ModelAliasConfig[]): Map<string, AliasState> {
  const aliases = new Map<string, AliasState>();
  const ids = new Set<string>();
  for (const model of models) {
    if (aliases.has(model.name)) throw new TypeError(`createRouter: model alias "${model.name}" is configured twice`);
    if (model.deployments.length === 0)
      throw new TypeError(`createRouter: model alias "${model.name}" has no deployment`);
    const states = model.deployments.map((config, index): DeploymentState => {
      const weight = config.weight ?? 1;
      if (!Number.isFinite(weight) || weight <= 0) {
        throw new TypeError(
          `createRouter: deployment ${index} of "${model.name}" needs a positive weight, got ${weight}`,
        );
      }
      let id = config.id;
      if (id === undefined) {
        const base = `${config.provider.id}/${config.model}`;
        id = base;
        for (let suffix = 2; ids.has(id); suffix++) id = `${base}#${suffix}`;
      } else if (ids.has(id)) {
        throw new TypeError(`createRouter: deployment id "${id}" is used twice`);
      }
      ids.add(id);
      const deployment: RouterDeployment = {
        id,
        alias: model.name,
        providerId: config.provider.id,
        provider: config.provider,
        model: config.model,
        weight,
      };
      return createDeploymentState(deployment, index);
    });
    aliases.set(model.name, {
      name: model.name,
      strategy: model.strategy ?? 'round-robin',
      states,
      fallbacks: model.fallbacks ?? [],
      contextWindowFallbacks: model.contextWindowFallbacks ?? [],
      contentFilterFallbacks: model.contentFilterFallbacks ?? [],
      cursor: 0,
    });
  }
  for (const alias of aliases.values()) {
    for (const name of [...alias.fallbacks, ...alias.contextWindowFallbacks, ...alias.contentFilterFallbacks]) {
      if (!aliases.has(name))
        throw new TypeError(`createRouter: "${alias.name}" falls back to "${name}", which is not a configured alias`);
    }
  }
  return aliases;
}

/**
 * A router over model aliases: each alias spreads its requests over its deployments by a strategy, takes failing
 * deployments out of rotation for a while, tries the alias's other deployments and then its fallback aliases.
 * Backoff retries, circuit breakers and concurrency limits are not its job: plug them in through `attempt` and
 * `acquire`. Throws a `TypeError` for an invalid configuration (duplicate alias or id, unknown fallback, no
 * deployment, non-positive weight). See docs/routing.md.
 *
 * @example
 * ```ts
 * const router = createRouter({
 *   models: [
 *     {
 *       name: 'chat',
 *       strategy: 'least-busy',
 *       deployments: [
 *         { provider: createProvider({ kind: 'openai', apiKey: process.env.OPENAI_API_KEY }), model: 'gpt-4o-mini' },
 *         { provider: createProvider({ kind: 'deepseek', apiKey: process.env.DEEPSEEK_API_KEY }), model: 'deepseek-chat' },
 *       ],
 *       fallbacks: ['chat-backup'],
 *     },
 *     { name: 'chat-backup', deployments: [{ provider: createProvider({ kind: 'ollama' }), model: 'qwen3:8b' }] },
 *   ],
 * });
 * const response = await router.chat({ model: 'chat', messages: [{ role: 'user', content: 'Hi' }] });
 * ```
 */
export function createRouter(options: RouterOptions): Router {
  const aliases = buildAliases(options.models);
  const cooldown = options.cooldown ?? {};
  const afterFailures = cooldown.afterFailures ?? 1;
  if (!Number.isInteger(afterFailures) || afterFailures < 1) {
    throw new TypeError(`createRouter: cooldown.afterFailures must be a positive integer, got ${afterFailures}`);
  }
  if (options.price === undefined) {
    // Without prices `cost` could only round-robin: refuse it rather than route by something the caller did not ask.
    const byCost = [...aliases.values()].filter((alias) => alias.strategy === 'cost').map((alias) => `"${alias.name}"`);
    if (byCost.length > 0) {
      throw new TypeError(`createRouter: ${byCost.join(', ')} routes by cost, but no price option was given`);
    }
  }
  const onEvent = options.onEvent;
  const context: RoutingContext = {
    aliases,
    now: options.now ?? Date.now,
    afterFailures,
    cooldownMs: cooldown.cooldownMs ?? DEFAULT_COOLDOWN_MS,
    coolingKinds: new Set(cooldown.onlyFor ?? DEFAULT_COOLING_KINDS),
    attempt: options.attempt ?? callOnce,
    acquire: options.acquire,
    emit: onEvent === undefined ? noRelease : onEvent,
  };
  const { price } = options;

  const priceFor = (request: ChatCompletionRequest | EmbeddingRequest): PriceOf =>
    price === undefined ? () => undefined : (state) => price(state.deployment, request);

  // chat and embed: one call per attempt, its slot held for the call only.
  const callOn = async <T>(
    state: DeploymentState,
    callOptions: RouterCallOptions,
    signal: AbortSignal,
    call: (deployment: RouterDeployment, signal: AbortSignal) => Promise<T>,
  ): Promise<T> => {
    const { deployment } = state;
    callOptions.onDeployment?.(deployment);
    state.calls += 1;
    state.inFlight += 1;
    try {
      const { value, latencyMs } = await context.attempt(
        deployment,
        async (callSignal) => {
          const release =
            context.acquire === undefined
              ? noRelease
              : await context.acquire(deployment, {
                  priority: callOptions.priority,
                  signal: callSignal,
                  slot: callOptions.slot,
                });
          try {
            callOptions.onAttempt?.(deployment);
            const started = context.now();
            const result = await call(deployment, callSignal);
            return { value: result, latencyMs: context.now() - started };
          } finally {
            release();
          }
        },
        signal,
      );
      recordLatency(state, latencyMs);
      recordSuccess(state);
      return value;
    } catch (error) {
      if (!signal.aborted) recordFailure(context, state, error);
      throw error;
    } finally {
      state.inFlight -= 1;
    }
  };

  const allStates = (): DeploymentState[] => [...aliases.values()].flatMap((alias) => alias.states);

  return {
    chat(request: ChatCompletionRequest, callOptions: RouterCallOptions = {}): Promise<ChatCompletionResponse> {
      const signal = signalOf(callOptions);
      return routeRequest(context, request.model, signal, priceFor(request), (state) =>
        callOn(state, callOptions, signal, (deployment, callSignal) =>
          deployment.provider.chat(
            { ...request, model: deployment.model },
            { signal: callSignal, headers: callOptions.headers },
          ),
        ),
      );
    },
    chatStream(request: ChatCompletionRequest, callOptions: RouterCallOptions = {}) {
      return routeStream(context, request, callOptions, priceFor(request));
    },
    embed(request: EmbeddingRequest, callOptions: RouterCallOptions = {}): Promise<EmbeddingResponse> {
      const signal = signalOf(callOptions);
      return routeRequest(context, request.model, signal, priceFor(request), (state) =>
        callOn(state, callOptions, signal, (deployment, callSignal) =>
          deployment.provider.embed(
            { ...request, model: deployment.model },
            { signal: callSignal, headers: callOptions.headers },
          ),
        ),
      );
    },
    deployments: () => allStates().map((state) => state.deployment),
    health: () =>
      allStates().map((state) => {
        isCooling(context, state); // a cooldown that has run out shows as over
        return healthOf(state);
      }),
  };
}
