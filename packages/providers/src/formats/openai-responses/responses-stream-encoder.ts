import type { ChatCompletionChunk, Usage } from '../../chat-api.ts';
import type { ChunkEncoder } from '../chunk-encoder.ts';
import {
  itemId,
  outcomeOf,
  outputText,
  responseObject,
  toResponsesUsage,
  type ResponsesFunctionCallItem,
  type ResponsesItemStatus,
  type ResponsesMessageItem,
  type ResponsesOutputItem,
  type ResponsesReasoningItem,
  type ResponsesResponse,
  type ResponsesResponseOptions,
} from './to-responses-response.ts';

/** Options of {@link responsesStreamEncoder}. */
export interface ResponsesStreamEncoderOptions extends ResponsesResponseOptions {
  /**
   * Called once by `end()` with the final Response (the one `response.completed` carries, usage and cost
   * included), e.g. to store it for `previous_response_id`. Not called for a stream that failed.
   */
  onEnd?: ((response: ResponsesResponse) => void) | undefined;
}

/** What ended a stream that failed after it began (the fields of an OpenAI error envelope). */
export interface ResponsesStreamError {
  message: string;
  type: string;
  code: string | null;
  param?: string | null | undefined;
}

/** A {@link ChunkEncoder} for the Responses API, which also knows how to end a stream that failed. */
export interface ResponsesStreamEncoder extends ChunkEncoder {
  /**
   * The SSE text that ends a stream which failed after its first byte, as OpenAI ends one: an `error` event, then
   * `response.failed` with the output produced so far (the item in progress `incomplete`). The SDKs raise the
   * `error` event as an `APIError`.
   */
  fail(error: ResponsesStreamError): string;
}

type OpenItem =
  | { kind: 'reasoning'; index: number; item: ResponsesReasoningItem }
  | { kind: 'message'; index: number; item: ResponsesMessageItem; partOpen: boolean }
  | { kind: 'function_call'; index: number; item: ResponsesFunctionCallItem; toolIndex: number; wireId: string };

/**
 * Canonical chunks → OpenAI's Responses streaming events, each as `event: <type>` and `data:` with `type` and a
 * `sequence_number` counting from 0, in the order OpenAI sends them and the SDKs' stream helpers check:
 *
 * - `response.created`, `response.in_progress` (the Response `in_progress`, no output, no usage);
 * - per output item, one at a time, indexed from 0: `response.output_item.added`, then
 *   - reasoning (from `reasoning_content`): `response.reasoning_summary_part.added`,
 *     `response.reasoning_summary_text.delta`…, `response.reasoning_summary_text.done`,
 *     `response.reasoning_summary_part.done`;
 *   - the message: `response.content_part.added`, `response.output_text.delta`… (`response.refusal.delta`… for a
 *     refusal), `response.output_text.done`, `response.content_part.done`;
 *   - a function call: `response.function_call_arguments.delta`…, `response.function_call_arguments.done`;
 *
 *   and `response.output_item.done` with the whole item;
 * - once the canonical stream has ended (OpenAI-format upstreams report usage only in the last chunk),
 *   `response.completed` with the whole Response and its usage (cost included when the last usage carried one), or
 *   `response.incomplete` when the answer was cut (`length`: `max_output_tokens`; `content_filter`). No `[DONE]`.
 *
 * An item switches when the kind of delta changes (reasoning → text → tool call) or a new tool call starts.
 *
 * @example
 * const encoder = responsesStreamEncoder({ id: responsesResponseId(), model: 'gpt-4o', createdAt: Math.floor(Date.now() / 1000), request: body });
 * for await (const chunk of provider.chatStream(request)) response.write(encoder.encode(chunk));
 * response.end(encoder.end());
 */
export function responsesStreamEncoder(options: ResponsesStreamEncoderOptions): ResponsesStreamEncoder {
  let sequence = 0;
  let started = false;
  const output: ResponsesOutputItem[] = [];
  let open: OpenItem | undefined;
  let usage: Usage | undefined;
  let finishReason: string | null | undefined;

  function event(type: string, data: Record<string, unknown>): string {
    const text = `event: ${type}\ndata: ${JSON.stringify({ type, ...data, sequence_number: sequence })}\n\n`;
    sequence += 1;
    return text;
  }

  function snapshot(state: Pick<ResponsesResponse, 'status' | 'error' | 'incomplete_details'>): ResponsesResponse {
    return responseObject(options, { ...state, output, usage: usage === undefined ? null : toResponsesUsage(usage) });
  }

  function start(): string {
    if (started) return '';
    started = true;
    const response = responseObject(options, {
      status: 'in_progress',
      output: [],
      usage: null,
      error: null,
      incomplete_details: null,
    });
    return event('response.created', { response }) + event('response.in_progress', { response });
  }

  function closePart(item: OpenItem & { kind: 'message' }): string {
    if (!item.partOpen) return '';
    item.partOpen = false;
    const contentIndex = item.item.content.length - 1;
    const part = item.item.content[contentIndex];
    if (part === undefined) return '';
    const at = { item_id: item.item.id, output_index: item.index, content_index: contentIndex };
    const done =
      part.type === 'output_text'
        ? event('response.output_text.done', { ...at, text: part.text, logprobs: [] })
        : event('response.refusal.done', { ...at, refusal: part.refusal });
    return done + event('response.content_part.done', { ...at, part });
  }

  function close(status: ResponsesItemStatus): string {
    const current = open;
    if (current === undefined) return '';
    open = undefined;
    const at = { item_id: current.item.id, output_index: current.index };
    let text = '';
    switch (current.kind) {
      case 'reasoning': {
        const part = current.item.summary[0] ?? { type: 'summary_text', text: '' };
        text +=
          event('response.reasoning_summary_text.done', { ...at, summary_index: 0, text: part.text }) +
          event('response.reasoning_summary_part.done', { ...at, summary_index: 0, part });
        break;
      }
      case 'message':
        text += closePart(current);
        current.item.status = status;
        break;
      case 'function_call':
        text += event('response.function_call_arguments.done', { ...at, arguments: current.item.arguments });
        current.item.status = status;
        break;
    }
    return text + event('response.output_item.done', { output_index: current.index, item: current.item });
  }

  function add(item: ResponsesOutputItem): { text: string; index: number } {
    const text = close('completed');
    const index = output.length;
    output.push(item);
    return { text: text + event('response.output_item.added', { output_index: index, item }), index };
  }

  function reasoningDelta(delta: string): string {
    let text = '';
    if (open?.kind !== 'reasoning') {
      const item: ResponsesReasoningItem = {
        id: itemId('rs', options.id, output.length),
        type: 'reasoning',
        summary: [],
      };
      const added = add(item);
      open = { kind: 'reasoning', index: added.index, item };
      const part = { type: 'summary_text' as const, text: '' };
      text +=
        added.text +
        event('response.reasoning_summary_part.added', {
          item_id: item.id,
          output_index: added.index,
          summary_index: 0,
          part,
        });
      item.summary.push(part);
    }
    const part = open.item.summary[0];
    if (part !== undefined) part.text += delta;
    return (
      text +
      event('response.reasoning_summary_text.delta', {
        item_id: open.item.id,
        output_index: open.index,
        summary_index: 0,
        delta,
      })
    );
  }

  function messageDelta(kind: 'output_text' | 'refusal', delta: string): string {
    let text = '';
    if (open?.kind !== 'message') {
      const item: ResponsesMessageItem = {
        id: itemId('msg', options.id, output.length),
        type: 'message',
        status: 'in_progress',
        role: 'assistant',
        content: [],
      };
      const added = add(item);
      open = { kind: 'message', index: added.index, item, partOpen: false };
      text += added.text;
    }
    const message = open;
    const last = message.item.content.at(-1);
    if (!message.partOpen || last?.type !== kind) {
      text += closePart(message);
      const part = kind === 'output_text' ? outputText('') : { type: 'refusal' as const, refusal: '' };
      text += event('response.content_part.added', {
        item_id: message.item.id,
        output_index: message.index,
        content_index: message.item.content.length,
        part,
      });
      message.item.content.push(part);
      message.partOpen = true;
    }
    const part = message.item.content.at(-1);
    const at = {
      item_id: message.item.id,
      output_index: message.index,
      content_index: message.item.content.length - 1,
    };
    if (part?.type === 'refusal') {
      part.refusal += delta;
      return text + event('response.refusal.delta', { ...at, delta });
    }
    if (part !== undefined) part.text += delta;
    return text + event('response.output_text.delta', { ...at, delta, logprobs: [] });
  }

  function toolCallDelta(
    call: NonNullable<ChatCompletionChunk['choices'][number]['delta']['tool_calls']>[number],
  ): string {
    let text = '';
    const toolIndex = call.index ?? 0;
    const wireId = call.id ?? '';
    const name = call.function?.name ?? '';
    // A new call: another index, or (vendors that reuse index 0) another id. Some vendors repeat the id on every delta.
    let current =
      open?.kind === 'function_call' &&
      open.toolIndex === toolIndex &&
      (wireId === '' || open.wireId === '' || wireId === open.wireId)
        ? open
        : undefined;
    if (current === undefined) {
      const id = itemId('fc', options.id, output.length);
      const item: ResponsesFunctionCallItem = {
        id,
        type: 'function_call',
        status: 'in_progress',
        call_id: wireId === '' ? id : wireId,
        name,
        arguments: '',
      };
      const added = add(item);
      current = { kind: 'function_call', index: added.index, item, toolIndex, wireId };
      open = current;
      text += added.text;
    } else if (current.item.name === '') {
      current.item.name = name;
    }
    const partial = call.function?.arguments;
    if (partial == null || partial === '') return text;
    current.item.arguments += partial;
    return (
      text +
      event('response.function_call_arguments.delta', {
        item_id: current.item.id,
        output_index: current.index,
        delta: partial,
      })
    );
  }

  return {
    encode(chunk: ChatCompletionChunk): string {
      if (chunk.usage != null) usage = chunk.usage;
      let text = start();
      const choice = chunk.choices[0];
      if (choice === undefined) return text;
      const { reasoning_content: reasoning, content, refusal, tool_calls: toolCalls } = choice.delta;
      if (reasoning != null && reasoning !== '') text += reasoningDelta(reasoning);
      if (content != null && content !== '') text += messageDelta('output_text', content);
      if (refusal != null && refusal !== '') text += messageDelta('refusal', refusal);
      for (const call of toolCalls ?? []) text += toolCallDelta(call);
      if (choice.finish_reason != null) finishReason = choice.finish_reason;
      return text;
    },
    end(): string {
      const incomplete = outcomeOf(finishReason);
      const text = start() + close(incomplete === undefined ? 'completed' : 'incomplete');
      const response = snapshot({
        status: incomplete === undefined ? 'completed' : 'incomplete',
        error: null,
        incomplete_details: incomplete === undefined ? null : { reason: incomplete },
      });
      const type = incomplete === undefined ? 'response.completed' : 'response.incomplete';
      options.onEnd?.(response);
      return text + event(type, { response });
    },
    fail(error: ResponsesStreamError): string {
      const text = start();
      // The item in progress stays as far as it got, without its done events.
      if (open !== undefined && open.kind !== 'reasoning') open.item.status = 'incomplete';
      open = undefined;
      const param = error.param ?? null;
      // OpenAI's published schema has the fields at the top level, its wire nests them under `error` (recorded
      // streams in vercel/ai's openai-error.1.chunks.txt); the SDKs read either, so both are sent.
      const failure = { type: error.type, code: error.code, message: error.message, param };
      return (
        text +
        event('error', { code: error.code, message: error.message, param, error: failure }) +
        event('response.failed', {
          response: snapshot({
            status: 'failed',
            error: { code: error.code ?? 'server_error', message: error.message },
            incomplete_details: null,
          }),
        })
      );
    },
  };
}
