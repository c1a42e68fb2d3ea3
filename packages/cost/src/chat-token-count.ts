// The shape of a chat request as far as counting its tokens goes: OpenAI's, structurally, so that gw's canonical
// request, an OpenAI SDK request or a hand-written object all fit.

/** A content part of a message. Parts other than text and images count nothing. */
export interface ChatContentPart {
  type: string;
  text?: string | null | undefined;
  image_url?: { url?: string | undefined; detail?: string | null | undefined } | string | null | undefined;
}

/** A chat message, OpenAI-shaped. */
export interface ChatMessageLike {
  role: string;
  content?: string | readonly ChatContentPart[] | null | undefined;
  name?: string | null | undefined;
  tool_calls?: readonly ChatToolCallLike[] | null | undefined;
  tool_call_id?: string | null | undefined;
}

/** A tool call of an assistant message: a function call, or a custom tool's free-form input. */
export interface ChatToolCallLike {
  type?: string | undefined;
  function?: { name?: string | undefined; arguments?: string | undefined } | undefined;
  custom?: { name?: string | undefined; input?: string | undefined } | undefined;
}

/** A tool definition, OpenAI-shaped. */
export interface ChatToolLike {
  type?: string | undefined;
  function?: { name?: string | undefined; description?: string | null | undefined; parameters?: unknown } | undefined;
}

/** What {@link Tokenizer.countChat} counts: the messages and the tools of a chat request. */
export interface ChatCountRequest {
  messages: readonly ChatMessageLike[];
  tools?: readonly ChatToolLike[] | null | undefined;
}

// OpenAI's documented chat format (openai-cookbook, "How to count tokens with tiktoken", for gpt-3.5-turbo-0613
// and every later model): 3 tokens wrap each message, a name costs 1 more, and every reply is primed with 3.
const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_NAME = 1;
const REPLY_PRIMING = 3;

// Images: OpenAI bills 85 tokens at `detail: low`, and 85 + 170 per 512-px tile at high detail. Without the
// image's size a flat estimate is all that is possible: a 1024×1024 image at high detail (4 tiles: 765 tokens).
/** Flat estimate for an image part at `detail: 'low'`. */
export const IMAGE_TOKENS_LOW = 85;
/** Flat estimate for an image part at `detail: 'high'` or `'auto'`: a 1024×1024 image, 4 tiles × 170 + 85. */
export const IMAGE_TOKENS_HIGH = 765;

// Tools: OpenAI renders function definitions into a hidden TypeScript-like namespace in the system message; its
// exact text is not published. Estimate: the tokens of each function's name, description and JSON schema, plus 8
// per function (the `type name = (_: {…}) => any;` wrapping) and 12 once (the namespace header and footer).
const TOOL_BLOCK_OVERHEAD = 12;
const TOOL_OVERHEAD = 8;
// A tool call in an assistant message: its name, arguments and about 3 tokens of wrapping each.
const TOOL_CALL_OVERHEAD = 3;

/** Counts a chat request's prompt tokens with a text counter, in OpenAI's chat format. */
export function countChatWith(countText: (text: string) => number, request: ChatCountRequest): number {
  let total = REPLY_PRIMING;
  for (const message of request.messages) {
    total += TOKENS_PER_MESSAGE + countText(message.role);
    const { content } = message;
    if (typeof content === 'string') total += countText(content);
    else if (content) for (const part of content) total += countPart(countText, part);
    if (message.name) total += countText(message.name) + TOKENS_PER_NAME;
    for (const call of message.tool_calls ?? []) {
      const name = call.function?.name ?? call.custom?.name ?? '';
      const input = call.function?.arguments ?? call.custom?.input ?? '';
      total += TOOL_CALL_OVERHEAD + countText(name) + countText(input);
    }
    if (message.tool_call_id) total += countText(message.tool_call_id);
  }
  const tools = request.tools ?? [];
  if (tools.length > 0) {
    total += TOOL_BLOCK_OVERHEAD;
    for (const tool of tools) {
      const definition = tool.function;
      total += TOOL_OVERHEAD + countText(definition?.name ?? '') + countText(definition?.description ?? '');
      if (definition?.parameters !== undefined) total += countText(JSON.stringify(definition.parameters));
    }
  }
  return total;
}

function countPart(countText: (text: string) => number, part: ChatContentPart): number {
  if (part.type === 'text') return countText(part.text ?? '');
  if (part.type === 'image_url') {
    const detail = typeof part.image_url === 'object' && part.image_url !== null ? part.image_url.detail : undefined;
    return detail === 'low' ? IMAGE_TOKENS_LOW : IMAGE_TOKENS_HIGH;
  }
  return 0;
}
