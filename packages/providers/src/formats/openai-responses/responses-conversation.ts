import type { ChatMessage } from '../../chat-messages.ts';
import { responsesItemsToMessages } from './from-responses-request.ts';
import type { ResponsesInputItem, ResponsesRequest } from './responses-request-schema.ts';
import type { ResponsesOutputItem, ResponsesResponse } from './to-responses-response.ts';

/** Options of {@link responsesConversation}. */
export interface ResponsesConversationOptions {
  /** The conversation before this request (the previous Response's, for `previous_response_id`). */
  history?: readonly ChatMessage[] | undefined;
}

// An output item is also an input item: clients send them back as they got them.
function asInputItem(item: ResponsesOutputItem): ResponsesInputItem {
  switch (item.type) {
    case 'message':
      return {
        type: 'message',
        role: 'assistant',
        content: item.content.map((part) =>
          part.type === 'refusal'
            ? { type: 'refusal', refusal: part.refusal }
            : { type: 'output_text', text: part.text },
        ),
      };
    case 'function_call':
      return { type: 'function_call', call_id: item.call_id, name: item.name, arguments: item.arguments };
    case 'reasoning':
      return { type: 'reasoning', summary: item.summary.map((part) => ({ text: part.text })) };
  }
}

/**
 * The canonical conversation once `response` has answered `request`: `history`, the request's input, then the
 * answer as one assistant message. This is what a later request with `previous_response_id` continues from (pass it
 * as `history` to `fromResponsesRequest`). `instructions` are left out, as OpenAI does not carry them over to the
 * next response.
 *
 * @example
 * store.put({ id: response.id, response, messages: responsesConversation(request, response, { history }) });
 */
export function responsesConversation(
  request: ResponsesRequest,
  response: Pick<ResponsesResponse, 'output'>,
  options: ResponsesConversationOptions = {},
): ChatMessage[] {
  const input =
    typeof request.input === 'string'
      ? [{ role: 'user' as const, content: request.input }]
      : responsesItemsToMessages(request.input);
  return [...(options.history ?? []), ...input, ...responsesItemsToMessages(response.output.map(asInputItem))];
}
