import type { ChatCompletionChunk, ChatCompletionResponse } from '@gw/providers';

/**
 * The text a chunk adds to the answer (content, reasoning, refusal, tool-call arguments): what an output estimate
 * counts when the vendor reports no usage.
 *
 * @example
 * relayed += chunkText(chunk);
 */
export function chunkText(chunk: ChatCompletionChunk): string {
  let text = '';
  for (const choice of chunk.choices) {
    const { delta } = choice;
    if (delta.content != null) text += delta.content;
    if (delta.reasoning_content != null) text += delta.reasoning_content;
    if (delta.refusal != null) text += delta.refusal;
    for (const call of delta.tool_calls ?? []) text += (call.function?.name ?? '') + (call.function?.arguments ?? '');
  }
  return text;
}

/**
 * The text of a whole answer, for the same estimate.
 *
 * @example
 * call.settle({ status: 'completed', usage: response.usage ?? undefined, relayedText: answerText(response) });
 */
export function answerText(response: ChatCompletionResponse): string {
  let text = '';
  for (const choice of response.choices) {
    const { message } = choice;
    if (typeof message.content === 'string') text += message.content;
    if (message.reasoning_content != null) text += message.reasoning_content;
    for (const call of message.tool_calls ?? []) text += (call.function?.name ?? '') + (call.function?.arguments ?? '');
  }
  return text;
}
