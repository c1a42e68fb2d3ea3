// OpenAI's Responses streaming events (platform.openai.com/docs/api-reference/responses-streaming) and the Response
// object built from canonical chunks and completions; the SDK's own stream helpers read them over HTTP in the
// gateway's routes/v1/responses.test.ts.
import type { ChatCompletionChunk } from '../../chat-api.ts';
import { sseFrames } from '@gw/test-kit';
import { describe, expect, it } from 'vitest';
import { responsesRequestSchema } from './responses-request-schema.ts';
import { responsesStreamEncoder } from './responses-stream-encoder.ts';
import { toResponsesResponse, toResponsesUsage, type ResponsesResponse } from './to-responses-response.ts';

const request = responsesRequestSchema.parse({
  model: 'gpt-4o',
  input: 'Hi',
  tools: [{ type: 'function', name: 'f' }],
});
const options = { id: 'resp_x', model: 'gpt-4o', createdAt: 1_700_000_000, request };

function events(text: string): Array<Record<string, unknown>> {
  return sseFrames(text).map((frame) => {
    const data: unknown = JSON.parse(frame.data);
    if (typeof data !== 'object' || data === null) throw new Error('not an object');
    expect(Reflect.get(data, 'type')).toBe(frame.event);
    return { ...data };
  });
}

const types = (list: Array<Record<string, unknown>>): unknown[] => list.map((event) => event['type']);

describe('toResponsesUsage', () => {
  it('keeps cached tokens inside input_tokens, reports cache writes and reasoning tokens, passes the cost', () => {
    expect(
      toResponsesUsage({
        prompt_tokens: 1000,
        completion_tokens: 50,
        total_tokens: 1050,
        prompt_tokens_details: { cached_tokens: 600, cache_creation_tokens: 300 },
        completion_tokens_details: { reasoning_tokens: 20 },
        cost: 0.0042,
      }),
    ).toEqual({
      input_tokens: 1000,
      input_tokens_details: { cached_tokens: 600, cache_write_tokens: 300 },
      output_tokens: 50,
      output_tokens_details: { reasoning_tokens: 20 },
      total_tokens: 1050,
      cost: 0.0042,
    });
  });
});

describe('toResponsesResponse', () => {
  it('orders reasoning, the message (text, then refusal) and the calls; echoes the request settings', () => {
    const response = toResponsesResponse(
      {
        choices: [
          {
            index: 0,
            finish_reason: 'tool_calls',
            message: {
              role: 'assistant',
              content: 'Checking.',
              refusal: 'Not that part.',
              reasoning_content: 'Hmm',
              tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
            },
          },
        ],
        usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
      },
      options,
    );
    expect(response).toMatchObject({
      id: 'resp_x',
      object: 'response',
      created_at: 1_700_000_000,
      status: 'completed',
      model: 'gpt-4o',
      tools: [{ type: 'function', name: 'f' }],
      tool_choice: 'auto',
      parallel_tool_calls: true,
      store: true,
      text: { format: { type: 'text' } },
    });
    expect(response.output).toEqual([
      { id: 'rs_x_0', type: 'reasoning', summary: [{ type: 'summary_text', text: 'Hmm' }] },
      {
        id: 'msg_x_1',
        type: 'message',
        status: 'completed',
        role: 'assistant',
        content: [
          { type: 'output_text', text: 'Checking.', annotations: [], logprobs: [] },
          { type: 'refusal', refusal: 'Not that part.' },
        ],
      },
      { id: 'fc_x_2', type: 'function_call', status: 'completed', call_id: 'call_1', name: 'f', arguments: '{"a":1}' },
    ]);
  });

  it.each([
    ['length', 'max_output_tokens'],
    ['content_filter', 'content_filter'],
  ])('a %s finish leaves the Response incomplete (%s), its last item incomplete', (finishReason, reason) => {
    const response = toResponsesResponse(
      { choices: [{ index: 0, finish_reason: finishReason, message: { content: 'Partial' } }] },
      options,
    );
    expect(response).toMatchObject({ status: 'incomplete', incomplete_details: { reason } });
    expect(response.output).toEqual([expect.objectContaining({ type: 'message', status: 'incomplete' })]);
  });
});

describe('responsesStreamEncoder', () => {
  it('streams reasoning, text and a call as items in order, with usage and cost in response.completed', () => {
    const ended: ResponsesResponse[] = [];
    const encoder = responsesStreamEncoder({ ...options, onEnd: (response) => ended.push(response) });
    const usage = {
      prompt_tokens: 40,
      completion_tokens: 2,
      total_tokens: 42,
      prompt_tokens_details: { cached_tokens: 30 },
      cost: 0.001,
    };
    const chunks: ChatCompletionChunk[] = [
      { choices: [{ index: 0, delta: { role: 'assistant', reasoning_content: 'Hm' } }] },
      { choices: [{ index: 0, delta: { content: 'Hi' } }] },
      { choices: [{ index: 0, delta: { content: ' there' } }] },
      {
        choices: [
          { index: 0, delta: { tool_calls: [{ index: 0, id: 'call_1', function: { name: 'f', arguments: '{"a"' } }] } },
        ],
      },
      { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: ':1}' } }] } }] },
      { choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
      { choices: [], usage },
    ];
    const list = events(chunks.map((chunk) => encoder.encode(chunk)).join('') + encoder.end());
    expect(types(list)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.reasoning_summary_part.added',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.done',
      'response.reasoning_summary_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(list.map((event) => event['sequence_number'])).toEqual(list.map((_, index) => index));
    expect(list[8]).toMatchObject({
      output_index: 1,
      item: { id: 'msg_x_1', type: 'message', status: 'in_progress', role: 'assistant', content: [] },
    });
    expect(list[10]).toMatchObject({
      item_id: 'msg_x_1',
      output_index: 1,
      content_index: 0,
      delta: 'Hi',
      logprobs: [],
    });
    expect(list[12]).toMatchObject({ item_id: 'msg_x_1', text: 'Hi there' });
    expect(list[15]).toMatchObject({
      output_index: 2,
      item: { id: 'fc_x_2', type: 'function_call', status: 'in_progress', call_id: 'call_1', name: 'f', arguments: '' },
    });
    expect(list[18]).toMatchObject({ item_id: 'fc_x_2', arguments: '{"a":1}' });
    const completed = list.at(-1)?.['response'];
    expect(completed).toMatchObject({
      status: 'completed',
      usage: {
        input_tokens: 40,
        input_tokens_details: { cached_tokens: 30 },
        output_tokens: 2,
        total_tokens: 42,
        cost: 0.001,
      },
    });
    expect(ended).toEqual([completed]);
  });

  it('opens one call item per call even when a vendor repeats the id on every delta, and a new one per index', () => {
    const encoder = responsesStreamEncoder(options);
    const call = (index: number, id: string, args: string): ChatCompletionChunk => ({
      choices: [{ index: 0, delta: { tool_calls: [{ index, id, function: { name: 'f', arguments: args } }] } }],
    });
    const list = events(
      [call(0, 'a', '{"x"'), call(0, 'a', ':1}'), call(1, 'b', '{}')].map((chunk) => encoder.encode(chunk)).join('') +
        encoder.end(),
    );
    const added = list.filter((event) => event['type'] === 'response.output_item.added').map((event) => event['item']);
    expect(added).toEqual([
      expect.objectContaining({ call_id: 'a', name: 'f' }),
      expect.objectContaining({ call_id: 'b', name: 'f' }),
    ]);
    const completed = list.at(-1)?.['response'];
    expect(completed).toMatchObject({
      output: [
        { call_id: 'a', arguments: '{"x":1}', status: 'completed' },
        { call_id: 'b', arguments: '{}', status: 'completed' },
      ],
    });
  });

  it('streams a refusal as its own content part', () => {
    const encoder = responsesStreamEncoder(options);
    const text =
      encoder.encode({ choices: [{ index: 0, delta: { refusal: 'I cannot' } }] }) +
      encoder.encode({ choices: [{ index: 0, delta: { refusal: ' help.' } }] }) +
      encoder.end();
    const list = events(text);
    expect(types(list).slice(3, 8)).toEqual([
      'response.content_part.added',
      'response.refusal.delta',
      'response.refusal.delta',
      'response.refusal.done',
      'response.content_part.done',
    ]);
    expect(list[6]).toMatchObject({ refusal: 'I cannot help.' });
    expect(list.at(-1)).toMatchObject({
      response: { output: [{ content: [{ type: 'refusal', refusal: 'I cannot help.' }] }] },
    });
  });

  it('ends a length-cut answer with response.incomplete and its last item incomplete', () => {
    const encoder = responsesStreamEncoder(options);
    const list = events(
      encoder.encode({ choices: [{ index: 0, delta: { content: 'one two' }, finish_reason: 'length' }] }) +
        encoder.end(),
    );
    expect(list.at(-2)).toMatchObject({ type: 'response.output_item.done', item: { status: 'incomplete' } });
    expect(list.at(-1)).toMatchObject({
      type: 'response.incomplete',
      response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } },
    });
  });

  it('still sends created, in_progress and completed for an empty stream', () => {
    const encoder = responsesStreamEncoder(options);
    expect(types(events(encoder.end()))).toEqual(['response.created', 'response.in_progress', 'response.completed']);
  });

  it('fail(): an error event, then response.failed with the output so far, sequence numbers going on, no onEnd', () => {
    const ended: ResponsesResponse[] = [];
    const encoder = responsesStreamEncoder({ ...options, onEnd: (response) => ended.push(response) });
    const list = events(
      encoder.encode({ choices: [{ index: 0, delta: { content: 'Hal' } }] }) +
        encoder.fail({ message: 'upstream went away', type: 'upstream_error', code: 'upstream_connection_error' }),
    );
    expect(list.slice(-2)).toEqual([
      {
        type: 'error',
        code: 'upstream_connection_error',
        message: 'upstream went away',
        param: null,
        error: {
          type: 'upstream_error',
          code: 'upstream_connection_error',
          message: 'upstream went away',
          param: null,
        },
        sequence_number: 5,
      },
      expect.objectContaining({ type: 'response.failed', sequence_number: 6 }),
    ]);
    expect(list.at(-1)?.['response']).toMatchObject({
      status: 'failed',
      error: { code: 'upstream_connection_error', message: 'upstream went away' },
      output: [{ type: 'message', status: 'incomplete', content: [{ type: 'output_text', text: 'Hal' }] }],
    });
    expect(ended).toEqual([]);
  });
});
