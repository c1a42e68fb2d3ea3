import type { ChatCompletionChunk, ChatCompletionResponse, EmbeddingResponse, Router } from '@gw/providers';
import { hasTakeBuffered, type BufferedAsyncIterator } from '@gw/stream';

/** What {@link observeRouter} reports: the answers, as the router hands them to the route. */
export interface RouterObserver {
  response(response: ChatCompletionResponse): void;
  embedding(response: EmbeddingResponse): void;
  chunk(chunk: ChatCompletionChunk): void;
}

// Forwards every call at once (a client that leaves must reach the upstream's `return()` while a `next()` is
// pending), and keeps `takeBuffered()` so the relay still batches the chunks a network read brought.
function observeChunks(
  chunks: AsyncIterableIterator<ChatCompletionChunk>,
  see: (chunk: ChatCompletionChunk) => void,
): BufferedAsyncIterator<ChatCompletionChunk> {
  const take = hasTakeBuffered(chunks) ? () => chunks.takeBuffered() : () => undefined;
  const iterator: BufferedAsyncIterator<ChatCompletionChunk> = {
    [Symbol.asyncIterator]: () => iterator,
    async next() {
      const result = await chunks.next();
      if (result.done !== true) see(result.value);
      return result;
    },
    async return(value?: unknown) {
      return (await chunks.return?.(value)) ?? { done: true, value: undefined };
    },
    takeBuffered() {
      const chunk = take();
      if (chunk !== undefined) see(chunk);
      return chunk;
    },
  };
  return iterator;
}

/**
 * The same router, telling `observer` each answer it gives (JSON responses, embeddings, stream chunks) before the
 * route reads it. The answers are the router's own objects, untouched.
 *
 * @example
 * const router = observeRouter(routed.router, { response: (r) => span.setAttribute('model', r.model), embedding() {}, chunk() {} });
 */
export function observeRouter(router: Router, observer: RouterObserver): Router {
  return {
    async chat(request, options) {
      const response = await router.chat(request, options);
      observer.response(response);
      return response;
    },
    chatStream: (request, options) =>
      observeChunks(router.chatStream(request, options), (chunk) => observer.chunk(chunk)),
    async embed(request, options) {
      const response = await router.embed(request, options);
      observer.embedding(response);
      return response;
    },
    deployments: () => router.deployments(),
    health: () => router.health(),
  };
}
