import type { ChatCompletionChunk, ChatCompletionResponse, ChatToolCall } from '@gw/providers';

/**
 * The chunk sequence a stream of `response` would have carried: per choice one chunk with the role and the whole
 * text, reasoning and tool calls, then one with its finish reason; then a usage-only chunk (`choices: []`) when the
 * response has usage (the client's encoder drops it unless the client asked for `include_usage`).
 *
 * @example
 * for (const chunk of responseChunks(cached)) write(encoder.encode(chunk));
 */
export function responseChunks(response: ChatCompletionResponse): ChatCompletionChunk[] {
  const head = {
    id: response.id,
    object: 'chat.completion.chunk',
    created: response.created,
    model: response.model,
    ...(response.system_fingerprint == null ? {} : { system_fingerprint: response.system_fingerprint }),
  };
  const chunks: ChatCompletionChunk[] = [];
  for (const choice of response.choices) {
    const { message } = choice;
    const delta: ChatCompletionChunk['choices'][number]['delta'] = { role: message.role ?? 'assistant' };
    if (message.reasoning_content != null) delta.reasoning_content = message.reasoning_content;
    if (message.content != null) delta.content = message.content;
    if (message.refusal != null) delta.refusal = message.refusal;
    if (message.tool_calls != null && message.tool_calls.length > 0) {
      delta.tool_calls = message.tool_calls.map((call, index) => ({
        index,
        id: call.id,
        type: call.type ?? 'function',
        function: { name: call.function?.name ?? '', arguments: call.function?.arguments ?? '' },
      }));
    }
    chunks.push({ ...head, choices: [{ index: choice.index, delta, finish_reason: null }] });
    chunks.push({
      ...head,
      choices: [{ index: choice.index, delta: {}, finish_reason: choice.finish_reason ?? 'stop' }],
    });
  }
  if (response.usage != null) chunks.push({ ...head, choices: [], usage: response.usage });
  return chunks;
}

/** Builds the response a stream amounts to, chunk by chunk. */
export interface ChunkCollector {
  add(chunk: ChatCompletionChunk): void;
  /** The whole response; `undefined` when the stream did not end every choice (no finish reason: cut short). */
  response(): ChatCompletionResponse | undefined;
}

interface CollectedChoice {
  content: string | undefined;
  reasoning: string | undefined;
  refusal: string | undefined;
  toolCalls: Map<number, { id: string; type: string; name: string; arguments: string }>;
  finishReason: string | undefined;
}

/**
 * Collects a streamed answer into the response a JSON call would have given: texts joined per choice, tool calls
 * joined by their index, the last usage seen.
 *
 * @example
 * const collector = collectChunks();
 * for await (const chunk of stream) collector.add(chunk);
 * const response = collector.response();
 */
export function collectChunks(): ChunkCollector {
  const choices = new Map<number, CollectedChoice>();
  let head: Pick<ChatCompletionResponse, 'id' | 'created' | 'model' | 'system_fingerprint'> | undefined;
  let usage: ChatCompletionResponse['usage'];
  return {
    add(chunk) {
      head ??= {
        id: chunk.id,
        created: chunk.created,
        model: chunk.model,
        system_fingerprint: chunk.system_fingerprint,
      };
      if (chunk.usage != null) usage = chunk.usage;
      for (const part of chunk.choices) {
        let choice = choices.get(part.index);
        if (choice === undefined) {
          choice = {
            content: undefined,
            reasoning: undefined,
            refusal: undefined,
            toolCalls: new Map(),
            finishReason: undefined,
          };
          choices.set(part.index, choice);
        }
        const { delta } = part;
        if (delta.content != null) choice.content = (choice.content ?? '') + delta.content;
        if (delta.reasoning_content != null) choice.reasoning = (choice.reasoning ?? '') + delta.reasoning_content;
        if (delta.refusal != null) choice.refusal = (choice.refusal ?? '') + delta.refusal;
        for (const [position, call] of (delta.tool_calls ?? []).entries()) {
          const index = call.index ?? position;
          const known = choice.toolCalls.get(index);
          if (known === undefined) {
            choice.toolCalls.set(index, {
              id: call.id ?? '',
              type: call.type ?? 'function',
              name: call.function?.name ?? '',
              arguments: call.function?.arguments ?? '',
            });
          } else {
            if (call.id != null && known.id === '') known.id = call.id;
            if (call.function?.name != null) known.name += call.function.name;
            if (call.function?.arguments != null) known.arguments += call.function.arguments;
          }
        }
        if (part.finish_reason != null) choice.finishReason = part.finish_reason;
      }
    },
    response() {
      if (head === undefined || choices.size === 0) return undefined;
      const collected: ChatCompletionResponse['choices'] = [];
      for (const [index, choice] of [...choices.entries()].sort(([a], [b]) => a - b)) {
        if (choice.finishReason === undefined) return undefined;
        const toolCalls: ChatToolCall[] = [...choice.toolCalls.entries()]
          .sort(([a], [b]) => a - b)
          .map(([, call]) => ({
            id: call.id,
            type: 'function',
            function: { name: call.name, arguments: call.arguments },
          }));
        collected.push({
          index,
          message: {
            role: 'assistant',
            content: choice.content ?? null,
            ...(choice.reasoning === undefined ? {} : { reasoning_content: choice.reasoning }),
            ...(choice.refusal === undefined ? {} : { refusal: choice.refusal }),
            ...(toolCalls.length === 0 ? {} : { tool_calls: toolCalls }),
          },
          finish_reason: choice.finishReason,
        });
      }
      return {
        id: head.id,
        object: 'chat.completion',
        created: head.created,
        model: head.model,
        ...(head.system_fingerprint == null ? {} : { system_fingerprint: head.system_fingerprint }),
        choices: collected,
        ...(usage == null ? {} : { usage }),
      };
    },
  };
}
