// Responses API requests (platform.openai.com/docs/api-reference/responses/create) as canonical chat requests; the
// end-to-end round trips over HTTP are in the gateway's routes/v1/responses.test.ts.
import { describe, expect, it } from 'vitest';
import { fromResponsesRequest } from './from-responses-request.ts';
import { responsesConversation } from './responses-conversation.ts';
import { responsesRequestSchema } from './responses-request-schema.ts';
import { toResponsesResponse } from './to-responses-response.ts';

const parse = (body: Record<string, unknown>) => responsesRequestSchema.parse({ model: 'gpt-4o', ...body });

/** The first issue of a body the schema refuses, as `path: message`. */
function refusal(body: Record<string, unknown>): string {
  const result = responsesRequestSchema.safeParse({ model: 'gpt-4o', ...body });
  if (result.success) return 'accepted';
  const issue = result.error.issues[0];
  // Unions report the branch that reached deepest, as the gateway does.
  const deepest = (candidate: typeof issue): { path: PropertyKey[]; message: string } => {
    if (candidate?.code !== 'invalid_union') return { path: candidate?.path ?? [], message: candidate?.message ?? '' };
    const inner = candidate.errors
      .flat()
      .map(deepest)
      .sort((a, b) => b.path.length - a.path.length)[0];
    return inner === undefined
      ? { path: candidate.path, message: candidate.message }
      : { path: [...candidate.path, ...inner.path], message: inner.message };
  };
  const found = deepest(issue);
  return `${found.path.join('.')}: ${found.message}`;
}

describe('fromResponsesRequest', () => {
  it('puts instructions first, then the history, then the input string as a user message', () => {
    const request = fromResponsesRequest(parse({ instructions: 'Be terse.', input: 'And Spain?' }), {
      history: [
        { role: 'user', content: 'Capital of France?' },
        { role: 'assistant', content: 'Paris.' },
      ],
    });
    expect(request.messages).toEqual([
      { role: 'system', content: 'Be terse.' },
      { role: 'user', content: 'Capital of France?' },
      { role: 'assistant', content: 'Paris.' },
      { role: 'user', content: 'And Spain?' },
    ]);
  });

  it('turns an answer sent back as items (reasoning, message, two calls) into one assistant turn, and outputs into tool messages', () => {
    const request = fromResponsesRequest(
      parse({
        input: [
          { role: 'developer', content: [{ type: 'input_text', text: 'Use tools.' }] },
          {
            role: 'user',
            content: [
              { type: 'input_text', text: 'What is on this picture, and the weather there?' },
              { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' },
            ],
          },
          { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'A beach; check weather.' }] },
          {
            type: 'message',
            id: 'msg_1',
            role: 'assistant',
            status: 'completed',
            content: [{ type: 'output_text', text: 'Nice, a beach.', annotations: [] }],
          },
          { type: 'function_call', id: 'fc_1', call_id: 'call_a', name: 'weather', arguments: '{"city":"Nice"}' },
          { type: 'function_call', id: 'fc_2', call_id: 'call_b', name: 'time', arguments: '{}' },
          { type: 'function_call_output', call_id: 'call_a', output: '18C' },
          { type: 'function_call_output', call_id: 'call_b', output: [{ type: 'input_text', text: '14:00' }] },
        ],
      }),
    );
    expect(request.messages).toEqual([
      { role: 'developer', content: 'Use tools.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is on this picture, and the weather there?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' } },
        ],
      },
      {
        role: 'assistant',
        content: 'Nice, a beach.',
        reasoning_content: 'A beach; check weather.',
        tool_calls: [
          { id: 'call_a', type: 'function', function: { name: 'weather', arguments: '{"city":"Nice"}' } },
          { id: 'call_b', type: 'function', function: { name: 'time', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_a', content: '18C' },
      { role: 'tool', tool_call_id: 'call_b', content: '14:00' },
    ]);
  });

  it('keeps two assistant messages in a row as two turns, and a call alone as content null', () => {
    const request = fromResponsesRequest(
      parse({
        input: [
          { role: 'assistant', content: 'One.' },
          { role: 'assistant', content: [{ type: 'output_text', text: 'Two.' }] },
          { type: 'function_call', call_id: 'c', name: 'f', arguments: '{}' },
        ],
      }),
    );
    expect(request.messages).toEqual([
      { role: 'assistant', content: 'One.' },
      {
        role: 'assistant',
        content: 'Two.',
        tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }],
      },
    ]);
    const alone = fromResponsesRequest(
      parse({ input: [{ type: 'function_call', call_id: 'c', name: 'f', arguments: '{}' }] }),
    );
    expect(alone.messages).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }],
      },
    ]);
  });

  it('maps the settings to their chat fields and leaves store, metadata and previous_response_id out', () => {
    const request = fromResponsesRequest(
      parse({
        input: 'Hi',
        stream: true,
        max_output_tokens: 300,
        temperature: 0.2,
        top_p: 0.9,
        user: 'u-1',
        parallel_tool_calls: false,
        reasoning: { effort: 'high', summary: 'auto' },
        text: {
          format: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, strict: true },
          verbosity: 'low',
        },
        tools: [
          { type: 'function', name: 'weather', description: 'Weather', parameters: { type: 'object' }, strict: true },
          { type: 'function', name: 'time', parameters: null, strict: null },
        ],
        tool_choice: { type: 'function', name: 'weather' },
        store: false,
        metadata: { ticket: '1' },
        previous_response_id: 'resp_1',
        truncation: 'auto',
      }),
    );
    expect(request).toEqual({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
      max_tokens: 300,
      temperature: 0.2,
      top_p: 0.9,
      user: 'u-1',
      parallel_tool_calls: false,
      reasoning_effort: 'high',
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'answer', schema: { type: 'object' }, strict: true },
      },
      tools: [
        {
          type: 'function',
          function: { name: 'weather', description: 'Weather', parameters: { type: 'object' }, strict: true },
        },
        { type: 'function', function: { name: 'time' } },
      ],
      tool_choice: { type: 'function', function: { name: 'weather' } },
    });
  });

  it('maps json_object and allowed_tools', () => {
    const request = fromResponsesRequest(
      parse({
        input: 'Hi',
        text: { format: { type: 'json_object' } },
        tool_choice: { type: 'allowed_tools', mode: 'required', tools: [{ type: 'function', name: 'weather' }] },
      }),
    );
    expect(request.response_format).toEqual({ type: 'json_object' });
    expect(request.tool_choice).toEqual({
      type: 'allowed_tools',
      allowed_tools: { mode: 'required', tools: [{ type: 'function', function: { name: 'weather' } }] },
    });
  });
});

describe('responsesRequestSchema refuses what only OpenAI can do, naming the field', () => {
  it.each([
    [{ input: 'Hi', tools: [{ type: 'web_search' }] }, 'tools.0.type: Only function tools are supported; "web_search"'],
    [{ input: 'Hi', tools: [{ type: 'custom', name: 'grammar' }] }, 'tools.0.type: Only function tools are supported'],
    [{ input: 'Hi', tool_choice: { type: 'web_search_preview' } }, 'tool_choice.type: tool_choice: use none, auto'],
    [{ input: [{ type: 'item_reference', id: 'msg_1' }] }, 'input.0.type: Unsupported input item'],
    [{ input: [{ type: 'web_search_call', id: 'ws_1' }] }, 'input.0.type: Unsupported input item'],
    [
      { input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file_1' }] }] },
      'input.0.content.0.image_url: input_image needs image_url',
    ],
    [
      { input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file_1' }] }] },
      'input.0.content.0.type: Unsupported content part',
    ],
    [{ input: 'Hi', background: true }, 'background: background mode is not supported'],
    [{ input: 'Hi', conversation: 'conv_1' }, 'conversation: conversations are not supported'],
    [{}, 'input: '],
  ])('%j → %s', (body, expected) => {
    expect(refusal(body)).toContain(expected);
  });

  it('accepts unknown fields and items the SDK sends back (ids, status, annotations, parsed)', () => {
    expect(
      refusal({
        input: [
          {
            type: 'message',
            id: 'msg_1',
            role: 'assistant',
            status: 'completed',
            content: [{ type: 'output_text', text: 'x', annotations: [], logprobs: [], parsed: null }],
          },
        ],
        include: ['reasoning.encrypted_content'],
        service_tier: 'auto',
      }),
    ).toBe('accepted');
  });
});

describe('responsesConversation', () => {
  it('is the history, the input and the answer as one assistant turn, without the instructions', () => {
    const request = parse({ instructions: 'Be terse.', input: 'Weather in Nice?' });
    const response = toResponsesResponse(
      {
        choices: [
          {
            index: 0,
            finish_reason: 'tool_calls',
            message: {
              role: 'assistant',
              content: null,
              reasoning_content: 'Need the tool.',
              tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{}' } }],
            },
          },
        ],
      },
      { id: 'resp_1', model: 'gpt-4o', createdAt: 1, request },
    );
    expect(responsesConversation(request, response, { history: [{ role: 'user', content: 'Hello' }] })).toEqual([
      { role: 'user', content: 'Hello' },
      { role: 'user', content: 'Weather in Nice?' },
      {
        role: 'assistant',
        content: null,
        reasoning_content: 'Need the tool.',
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{}' } }],
      },
    ]);
  });
});
