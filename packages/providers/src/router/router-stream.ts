import { hasTakeBuffered } from '@gw/stream';
import type { BufferedAsyncIterator } from '@gw/stream';
import type { ChatCompletionChunk, ChatCompletionRequest } from '../chat-api.ts';
import type { DeploymentState } from './deployment-state.ts';
import { recordLatency } from './deployment-state.ts';
import type { PriceOf } from './pick-deployment.ts';
import { cancelledError, recordFailure, recordSuccess, routeRequest } from './route-request.ts';
import type { RoutingContext } from './route-request.ts';
import type { RouterCallOptions } from './router-types.ts';

/** A deployment's stream once its first chunk has arrived. */
interface OpenedStream {
  readonly state: DeploymentState;
  readonly upstream: AsyncIterator<ChatCompletionChunk>;
  readonly first: IteratorResult<ChatCompletionChunk>;
  /** Gives back the slot and the in-flight count; safe to call more than once. */
  readonly settle: () => void;
}

function noRelease(): void {}

// Closing a stream that already failed: the failure is what the caller needs to hear about, not a second one.
async function closeQuietly(upstream: AsyncIterator<ChatCompletionChunk>): Promise<void> {
  try {
    await upstream.return?.();
  } catch {
    // Nothing to add to the error being thrown.
  }
}

/**
 * Opens a stream on one deployment: slot, upstream call, first chunk, all inside the `attempt` wrapper so a retry
 * policy may retry the opening. Only a stream that produced its first chunk leaves this function; any earlier
 * failure rejects, with the slot given back and the upstream closed.
 */
async function openOn(
  context: RoutingContext,
  state: DeploymentState,
  request: ChatCompletionRequest,
  options: RouterCallOptions,
  signal: AbortSignal,
): Promise<OpenedStream> {
  const { deployment } = state;
  options.onDeployment?.(deployment);
  state.calls += 1;
  state.inFlight += 1;
  try {
    const opened = await context.attempt(
      deployment,
      async (callSignal) => {
        const release =
          context.acquire === undefined
            ? noRelease
            : await context.acquire(deployment, { priority: options.priority, signal: callSignal, slot: options.slot });
        try {
          options.onAttempt?.(deployment);
          const started = context.now();
          const upstream = deployment.provider.chatStream(
            { ...request, model: deployment.model },
            { signal: callSignal, headers: options.headers },
          );
          try {
            const first = await upstream.next();
            return { upstream, first, release, ttftMs: context.now() - started };
          } catch (error) {
            await closeQuietly(upstream);
            throw error;
          }
        } catch (error) {
          release();
          throw error;
        }
      },
      signal,
    );
    recordLatency(state, opened.ttftMs);
    recordSuccess(state);
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      state.inFlight -= 1;
      opened.release();
    };
    return { state, upstream: opened.upstream, first: opened.first, settle };
  } catch (error) {
    state.inFlight -= 1;
    if (!signal.aborted) recordFailure(context, state, error);
    throw error;
  }
}

/**
 * The router's `chatStream`: lazy like an adapter's. The first `next()` routes the request, committing to the first
 * deployment that yields a chunk; later failures are thrown to the consumer as they are. `return()` aborts the
 * upstream at once (also while a `next()` is pending) and gives the slot back. Offers `takeBuffered()` (see
 * `@gw/stream`) when the chosen deployment's stream does, so a relay can batch chunks already at hand.
 */
export function routeStream(
  context: RoutingContext,
  request: ChatCompletionRequest,
  options: RouterCallOptions,
  priceOf: PriceOf,
): BufferedAsyncIterator<ChatCompletionChunk> {
  // Our own controller, tripped by return() and by the caller's signal through a listener removed at the end
  // (AbortSignal.any costs more per call, and keeps the composite alive as long as the caller's signal lives).
  const controller = new AbortController();
  const callerSignal = options.signal;
  const forwardAbort = (): void => controller.abort(callerSignal?.reason);
  if (callerSignal?.aborted === true) forwardAbort();
  else callerSignal?.addEventListener('abort', forwardAbort, { once: true });
  const signal = controller.signal;
  let opening: Promise<OpenedStream> | undefined;
  let opened: OpenedStream | undefined;
  let finished = false;
  // next() calls not yet settled: takeBuffered() must not overtake them.
  let pending = 0;

  const finish = (): void => {
    finished = true;
    callerSignal?.removeEventListener('abort', forwardAbort);
    opened?.settle();
  };

  const open = async (): Promise<OpenedStream> => {
    try {
      opened = await routeRequest(context, request.model, signal, priceOf, (state) =>
        openOn(context, state, request, options, signal),
      );
      return opened;
    } catch (error) {
      finish();
      throw error;
    }
  };

  const first = async (): Promise<IteratorResult<ChatCompletionChunk>> => {
    opening = open();
    const stream = await opening;
    // return() came while the first chunk was on its way: the stream is over for the consumer.
    if (finished) {
      stream.settle();
      await stream.upstream.return?.();
      return { done: true, value: undefined };
    }
    if (stream.first.done === true) finish();
    return stream.first;
  };

  const step = async (): Promise<IteratorResult<ChatCompletionChunk>> => {
    try {
      if (finished) return { done: true, value: undefined };
      if (opening === undefined) return await first();
      // A next() called before the first one settled: wait for the opening (its failure is the first next()'s).
      const current = opened ?? (await opening.catch(() => undefined));
      if (current === undefined || finished) return { done: true, value: undefined };
      try {
        const result = await current.upstream.next();
        if (result.done === true) finish();
        return result;
      } catch (error) {
        const aborted = signal.aborted;
        if (!aborted) recordFailure(context, current.state, error);
        finish();
        throw aborted ? cancelledError(error) : error;
      }
    } finally {
      pending -= 1;
    }
  };

  const stop = async (): Promise<IteratorResult<ChatCompletionChunk>> => {
    if (!finished) {
      const current = opened;
      finish();
      try {
        // The upstream's own return() first: it closes the body before the request, which an abort would not.
        await current?.upstream.return?.();
      } finally {
        // Also reaches a call still being opened (return() while the first next() is pending).
        controller.abort();
      }
    }
    return { done: true, value: undefined };
  };

  const iterator: BufferedAsyncIterator<ChatCompletionChunk> = {
    next() {
      pending += 1;
      return step();
    },
    takeBuffered() {
      if (opened === undefined || finished || pending > 0 || !hasTakeBuffered(opened.upstream)) return undefined;
      return opened.upstream.takeBuffered();
    },
    return: stop,
    async throw(error: unknown) {
      await stop();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
