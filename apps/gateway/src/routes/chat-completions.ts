import { chatCompletionRequestSchema, type ChatCompletionChunk } from '@gw/providers';
import { ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { pipeSseToNode, toSseStream, withIdleTimeout } from '@gw/stream';
import type { Handler } from 'hono';
import { reportError, errorEvent } from '../error-handler.ts';
import { formatPath } from '../format-path.ts';
import { GatewayError } from '../gateway-error.ts';
import type { Logger } from '../logger.ts';
import type { ModelResolver } from '../routing/resolve-model.ts';
import { settleOnce, type SettleHook } from '../settle.ts';
import { relayChunks } from './chat-stream.ts';

/** What the chat completions route needs; all of it built once at start. */
export interface ChatCompletionsOptions {
  resolver: ModelResolver;
  logger: Logger;
  /** A stream that sends nothing for this long is ended with an error event. */
  streamIdleTimeoutMs: number;
  settle?: SettleHook;
}

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new GatewayError('Request body is not valid JSON.', { status: 400, type: 'invalid_request_error', code: 'invalid_json' });
  }
}

/**
 * `POST /v1/chat/completions`: validate, resolve the model (alias or `provider-id/model`),
 * rewrite `model` to the upstream name, call the provider with a signal that aborts when the
 * client disconnects, and answer JSON or SSE. For streams the first chunk is pulled before any
 * header is sent, so an upstream refusal is still a normal JSON error with the right status.
 *
 * @example
 * app.post('/v1/chat/completions', chatCompletions({ resolver, logger, streamIdleTimeoutMs: 120_000 }));
 */
export function chatCompletions(options: ChatCompletionsOptions): Handler<{ Variables: { requestId: string } }> {
  const { resolver, logger, streamIdleTimeoutMs, settle: hook } = options;

  return async function chatCompletionsHandler(c) {
    const parsed = chatCompletionRequestSchema.safeParse(parseJson(await c.req.text()));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const param = issue === undefined || issue.path.length === 0 ? null : formatPath(issue.path);
      const detail = issue === undefined ? 'invalid request' : issue.message;
      throw new GatewayError(param === null ? `Invalid request: ${detail}` : `Invalid request: ${param}: ${detail}`, {
        status: 400,
        type: 'invalid_request_error',
        code: 'invalid_request',
        param,
      });
    }
    const request = parsed.data;
    const requestedModel = request.model;
    const target = resolver.resolve(requestedModel);
    request.model = target.model;
    const signal = c.req.raw.signal;
    const stream = request.stream === true;
    const settle = settleOnce(hook, logger, {
      requestId: c.get('requestId'),
      model: requestedModel,
      providerId: target.providerId,
      upstreamModel: target.model,
      stream,
    });

    if (!stream) {
      let response;
      try {
        response = await target.provider.chat(request, { signal });
      } catch (error) {
        settle(undefined, signal.aborted ? 'cancelled' : 'failed', error);
        throw error;
      }
      settle(response.usage ?? undefined, 'completed');
      return c.json(response);
    }

    // Read before the call: the provider adds include_usage upstream for its own billing.
    const includeUsage = request.stream_options?.include_usage === true;
    // A stream can end on our side (idle timeout, failure) while the client is still there, so
    // the upstream call gets its own controller, also tripped by the client going away.
    const upstreamCall = new AbortController();
    const cancelUpstream = (): void => upstreamCall.abort();
    signal.addEventListener('abort', cancelUpstream, { once: true });
    const upstreamSignal = upstreamCall.signal;
    const upstream = withIdleTimeout(target.provider.chatStream(request, { signal: upstreamSignal }), { idleMs: streamIdleTimeoutMs, signal: upstreamSignal });
    let first: IteratorResult<ChatCompletionChunk>;
    try {
      first = await upstream.next();
    } catch (error) {
      cancelUpstream();
      settle(undefined, signal.aborted ? 'cancelled' : 'failed', error);
      throw error;
    }
    const relay = relayChunks(upstream, first, { includeUsage, settle, signal, cancelUpstream });
    const onError = (error: unknown): string => {
      reportError(logger, error, c.get('requestId'));
      return errorEvent(error);
    };
    // On @hono/node-server, write to the Node response ourselves: no web stream, Response object or
    // separate header write between the relay and the socket. Anywhere else, a pull-based web body.
    const outgoing: unknown = Reflect.get(Object(c.env), 'outgoing');
    if (outgoing instanceof ServerResponse) {
      // The request id middleware's header, which Hono would otherwise add to the Response we skip.
      outgoing.writeHead(200, { ...SSE_HEADERS, 'x-request-id': c.get('requestId') });
      void pipeSseToNode(relay, outgoing, { onError });
      return RESPONSE_ALREADY_SENT;
    }
    return c.body(toSseStream(relay, { onError }), 200, SSE_HEADERS);
  };
}

