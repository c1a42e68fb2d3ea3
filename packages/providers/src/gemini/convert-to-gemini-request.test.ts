// What Gemini receives, checked against Google's GenerateContentRequest reference (Content, Part, Tool,
// FunctionDeclaration.parametersJsonSchema, ToolConfig.functionCallingConfig, GenerationConfig, ThinkingConfig).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChatCompletionRequest } from '../chat-api.ts';
import { createProvider } from '../create-provider.ts';
import { isProviderError } from '../provider-error.ts';
import type { ProviderError } from '../provider-error.ts';
import type { Provider } from '../provider.ts';
import { startStandInUpstream } from '../testing/stand-in-upstream.ts';
import type { StandInUpstream } from '../testing/stand-in-types.ts';

let upstream: StandInUpstream;
let provider: Provider;

beforeAll(async () => {
  upstream = await startStandInUpstream();
  provider = createProvider({ kind: 'gemini', baseUrl: `${upstream.url}/v1beta`, apiKey: 'AIzaSyConvertTest123' });
});
afterEach(() => upstream.reset());
afterAll(async () => {
  await upstream.close();
});

async function sentBody(request: ChatCompletionRequest): Promise<unknown> {
  await provider.chat(request);
  return upstream.requests.at(-1)?.body;
}

async function refusal(request: ChatCompletionRequest): Promise<ProviderError> {
  try {
    await provider.chat(request);
  } catch (error) {
    if (isProviderError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
      additionalProperties: false,
    },
  },
};

describe('messages', () => {
  it('moves system and developer messages to systemInstruction and maps roles', async () => {
    const body = await sentBody({
      model: 'gemini-2.5-flash',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Bonjour' },
        { role: 'user', content: 'Capital of Italy?' },
      ],
    });
    expect(body).toEqual({
      systemInstruction: { parts: [{ text: 'Be brief.' }, { text: 'Answer in French.' }] },
      contents: [
        { role: 'user', parts: [{ text: 'Hi' }] },
        { role: 'model', parts: [{ text: 'Bonjour' }] },
        { role: 'user', parts: [{ text: 'Capital of Italy?' }] },
      ],
    });
  });

  it('merges consecutive messages of one role', async () => {
    const body = await sentBody({
      model: 'gemini-2.5-flash',
      messages: [
        { role: 'user', content: 'one' },
        { role: 'user', content: 'two' },
      ],
    });
    expect(body).toEqual({ contents: [{ role: 'user', parts: [{ text: 'one' }, { text: 'two' }] }] });
  });

  it('sends data: images inline and http(s) images as fileData with a guessed mime type', async () => {
    const body = await sentBody({
      model: 'gemini-2.5-flash',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.webp?size=large' } },
            { type: 'image_url', image_url: { url: 'https://example.com/photo' } },
          ],
        },
      ],
    });
    expect(body).toEqual({
      contents: [
        {
          role: 'user',
          parts: [
            { text: 'Compare' },
            { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
            { fileData: { mimeType: 'image/webp', fileUri: 'https://example.com/cat.webp?size=large' } },
            { fileData: { mimeType: 'image/jpeg', fileUri: 'https://example.com/photo' } },
          ],
        },
      ],
    });
  });

  it('turns tool calls into functionCall parts and tool results into named functionResponse parts', async () => {
    const body = await sentBody({
      model: 'gemini-2.5-flash',
      messages: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'call_0__thought__c2lnbmF0dXJl',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
            },
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_0__thought__c2lnbmF0dXJl', content: '{"temp":21}' },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
      ],
    });
    expect(body).toEqual({
      contents: [
        { role: 'user', parts: [{ text: 'Weather in Paris and Rome?' }] },
        {
          role: 'model',
          parts: [
            { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'c2lnbmF0dXJl' },
            { functionCall: { name: 'get_weather', args: { city: 'Rome' } } },
          ],
        },
        {
          role: 'user',
          parts: [
            { functionResponse: { name: 'get_weather', response: { temp: 21 } } },
            { functionResponse: { name: 'get_weather', response: { content: 'sunny' } } },
          ],
        },
      ],
    });
  });

  it('keeps a vendor tool call id on functionCall and functionResponse', async () => {
    const body = await sentBody({
      model: 'gemini-2.5-flash',
      messages: [
        { role: 'user', content: 'Go' },
        { role: 'assistant', tool_calls: [{ id: 'fc_7', type: 'function', function: { name: 'go', arguments: '' } }] },
        { role: 'tool', tool_call_id: 'fc_7', content: '[1,2]' },
      ],
    });
    expect(body).toMatchObject({
      contents: [
        {},
        { parts: [{ functionCall: { id: 'fc_7', name: 'go', args: {} } }] },
        { parts: [{ functionResponse: { id: 'fc_7', name: 'go', response: { content: '[1,2]' } } }] },
      ],
    });
  });

  it('refuses unparsable tool arguments and a tool message without its call', async () => {
    const badArguments = await refusal({
      model: 'gemini-2.5-flash',
      messages: [
        { role: 'user', content: 'Go' },
        {
          role: 'assistant',
          tool_calls: [{ id: 'c', type: 'function', function: { name: 'go', arguments: '{oops' } }],
        },
      ],
    });
    expect(badArguments).toMatchObject({
      kind: 'invalid_request',
      param: 'messages[1].tool_calls[0].function.arguments',
    });
    const orphan = await refusal({
      model: 'gemini-2.5-flash',
      messages: [
        { role: 'user', content: 'Go' },
        { role: 'tool', tool_call_id: 'nope', content: 'x' },
      ],
    });
    expect(orphan).toMatchObject({ kind: 'invalid_request', provider: 'gemini' });
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('tools', () => {
  it('declares functions with parametersJsonSchema (no $schema) and maps tool_choice', async () => {
    const body = await sentBody({
      model: 'gemini-2.5-flash',
      messages: [{ role: 'user', content: 'Weather?' }],
      tools: [weatherTool],
      tool_choice: 'required',
      parallel_tool_calls: false,
    });
    expect(body).toMatchObject({
      tools: [
        {
          functionDeclarations: [
            {
              name: 'get_weather',
              description: 'Weather in a city',
              parametersJsonSchema: {
                type: 'object',
                properties: { city: { type: 'string' } },
                required: ['city'],
                additionalProperties: false,
              },
            },
          ],
        },
      ],
      toolConfig: { functionCallingConfig: { mode: 'ANY' } },
    });
    expect(JSON.stringify(body)).not.toContain('$schema');
    expect(JSON.stringify(body)).not.toContain('parallel');
  });

  it.each<[ChatCompletionRequest['tool_choice'], unknown]>([
    ['none', { mode: 'NONE' }],
    ['auto', { mode: 'AUTO' }],
    [
      { type: 'function' as const, function: { name: 'get_weather' } },
      { mode: 'ANY', allowedFunctionNames: ['get_weather'] },
    ],
  ])('tool_choice %j → %j', async (choice, config) => {
    const body = await sentBody({
      model: 'gemini-2.5-flash',
      messages: [{ role: 'user', content: 'Weather?' }],
      tools: [weatherTool],
      tool_choice: choice,
    });
    expect(body).toMatchObject({ toolConfig: { functionCallingConfig: config } });
  });
});

describe('generationConfig', () => {
  it('maps sampling, limits, stop, n, penalties, seed and JSON schema output', async () => {
    const body = await sentBody({
      model: 'gemini-2.5-flash',
      messages: [{ role: 'user', content: 'List' }],
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 50,
      max_completion_tokens: 100,
      stop: 'END',
      n: 2,
      presence_penalty: 0.1,
      frequency_penalty: 0.3,
      seed: 7,
      logprobs: true,
      logit_bias: { '1': 2 },
      user: 'u-1',
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'list', schema: { $schema: 'x', type: 'array', items: { type: 'string' } } },
      },
    });
    expect(body).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'List' }] }],
      generationConfig: {
        temperature: 0.2,
        topP: 0.9,
        maxOutputTokens: 100,
        stopSequences: ['END'],
        candidateCount: 2,
        presencePenalty: 0.1,
        frequencyPenalty: 0.3,
        seed: 7,
        responseMimeType: 'application/json',
        responseJsonSchema: { type: 'array', items: { type: 'string' } },
      },
    });
  });

  it('json_object asks for application/json only', async () => {
    const body = await sentBody({
      model: 'gemini-2.5-flash',
      messages: [{ role: 'user', content: 'JSON' }],
      response_format: { type: 'json_object' },
    });
    expect(body).toMatchObject({ generationConfig: { responseMimeType: 'application/json' } });
  });

  it.each([
    ['gemini-2.5-flash', 'low', { thinkingBudget: 1024, includeThoughts: true }],
    ['gemini-2.5-flash', 'high', { thinkingBudget: 24576, includeThoughts: true }],
    ['gemini-2.5-flash', 'none', { thinkingBudget: 0 }],
    ['gemini-3-pro-preview', 'medium', { thinkingLevel: 'high', includeThoughts: true }],
    ['gemini-3-pro-preview', 'minimal', { thinkingLevel: 'low', includeThoughts: true }],
    ['gemini-3-flash-preview', 'medium', { thinkingLevel: 'medium', includeThoughts: true }],
    ['gemini-3-flash-preview', 'none', { thinkingLevel: 'minimal', includeThoughts: true }],
    ['gemini-2.5-pro', 'none', { thinkingBudget: 128, includeThoughts: true }],
  ])('%s with reasoning_effort %s → thinkingConfig %j', async (model, effort, config) => {
    const body = await sentBody({ model, messages: [{ role: 'user', content: 'Think' }], reasoning_effort: effort });
    expect(body).toMatchObject({ generationConfig: { thinkingConfig: config } });
  });

  it('refuses an unknown reasoning_effort', async () => {
    const error = await refusal({
      model: 'gemini-2.5-flash',
      messages: [{ role: 'user', content: 'x' }],
      reasoning_effort: 'max',
    });
    expect(error).toMatchObject({ kind: 'invalid_request', param: 'reasoning_effort' });
  });
});
