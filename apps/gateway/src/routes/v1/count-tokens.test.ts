// POST /v1/messages/count_tokens through the Anthropic SDK (`messages.countTokens`) over real HTTP, to an
// OpenAI-format target (exact: js-tiktoken, the count OpenAI bills, no upstream call), to an Anthropic-format target
// (Anthropic's own count_tokens, an estimate when it fails) and to a vendor without a public tokenizer (an estimate,
// said in x-gw-tokens-estimated).
import Anthropic, { AuthenticationError, BadRequestError, NotFoundError } from '@anthropic-ai/sdk';
import { countChatTokens } from '@gw/cost';
import { thrownBy } from '@gw/test-kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { NO_RETRIES, postJson, startTestGateway, TEST_VENDOR_KEY, type TestGateway } from '../../test-helpers.ts';

const MASTER_KEY = 'gw-master-key-count-tokens-0123456789';
const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};
const QUESTION = 'What is the capital of France? Answer in one word, then explain the history of the city in detail.';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({
    config: (upstream) => ({
      auth: { masterKey: MASTER_KEY },
      providers: [
        { id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl },
        { id: 'claude', kind: 'anthropic', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl },
        { id: 'ds', kind: 'deepseek', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl },
      ],
      models: [
        { name: 'gpt', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] },
        { name: 'legacy', targets: [{ provider: 'up', model: 'gpt-4' }] },
        { name: 'claude', targets: [{ provider: 'claude', model: 'claude-sonnet-4-5' }] },
        { name: 'deep', targets: [{ provider: 'ds', model: 'deepseek-chat' }] },
      ],
      ...NO_RETRIES,
    }),
  });
});
afterAll(async () => {
  await t.close();
});
beforeEach(() => {
  t.upstream.reset();
});

function anthropic(apiKey = MASTER_KEY): Anthropic {
  return new Anthropic({ apiKey, baseURL: t.url, maxRetries: 0, timeout: 10_000 });
}

describe('POST /v1/messages/count_tokens', () => {
  it('to an OpenAI-format target: the exact count of the model’s encoding, system prompt included', async () => {
    const counted = await anthropic().messages.countTokens({
      model: 'gpt',
      system: 'You are a terse geography tutor.',
      messages: [{ role: 'user', content: QUESTION }],
    });
    const reference = await countChatTokens({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You are a terse geography tutor.' },
        { role: 'user', content: QUESTION },
      ],
    });
    expect(counted).toEqual({ input_tokens: reference });
    // OpenAI's own count for one "Hello" in gpt-4o's chat format.
    expect(
      await anthropic().messages.countTokens({ model: 'up/gpt-4o', messages: [{ role: 'user', content: 'Hello' }] }),
    ).toEqual({ input_tokens: 8 });

    // The encoding follows the upstream model: gpt-4 counts with cl100k_base.
    const legacy = await anthropic().messages.countTokens({
      model: 'legacy',
      messages: [{ role: 'user', content: QUESTION }],
    });
    expect(legacy.input_tokens).toBe(
      await countChatTokens({ model: 'gpt-4', messages: [{ role: 'user', content: QUESTION }] }),
    );

    const raw = await postJson(
      `${t.url}/v1/messages/count_tokens`,
      { model: 'gpt', messages: [{ role: 'user', content: 'Hello' }] },
      { 'x-api-key': MASTER_KEY, 'anthropic-version': '2023-06-01' },
    );
    expect(raw.headers.get('x-gw-tokens-estimated')).toBeNull();
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('to an Anthropic-format target: Anthropic’s own count, asked with the prompt fields only and the vendor key', async () => {
    t.upstream.enqueue({ type: 'chat', usage: { prompt_tokens: 4321, completion_tokens: 0 } });
    const { data: counted, response } = await anthropic()
      .messages.countTokens({
        model: 'claude',
        system: 'Be terse.',
        messages: [{ role: 'user', content: QUESTION }],
        tools: [WEATHER_TOOL],
      })
      .withResponse();
    expect(counted).toEqual({ input_tokens: 4321 });
    expect(response.headers.get('x-gw-tokens-estimated')).toBeNull();
    expect(t.upstream.requests).toHaveLength(1);
    const sent = t.upstream.requests[0];
    expect(sent?.path).toBe('/v1/messages/count_tokens');
    expect(sent?.headers['x-api-key']).toBe(TEST_VENDOR_KEY);
    expect(sent?.headers['anthropic-version']).toBe('2023-06-01');
    expect(sent?.body).toEqual({
      model: 'claude-sonnet-4-5',
      system: 'Be terse.',
      // The same prompt, the text as a block: Anthropic counts both alike.
      messages: [{ role: 'user', content: [{ type: 'text', text: QUESTION }] }],
      tools: [WEATHER_TOOL],
    });
  });

  it('when Anthropic cannot count, and for vendors without a tokenizer: an estimate that grows with the prompt, said in a header', async () => {
    t.upstream.enqueue({ type: 'error', status: 529 });
    const raw = await postJson(
      `${t.url}/v1/messages/count_tokens`,
      { model: 'claude', messages: [{ role: 'user', content: QUESTION }] },
      { 'x-api-key': MASTER_KEY },
    );
    expect(raw.status).toBe(200);
    expect(raw.headers.get('x-gw-tokens-estimated')).toBe('true');
    const fallback = z.object({ input_tokens: z.number() }).parse(await raw.json());
    expect(fallback.input_tokens).toBeGreaterThan(15);
    expect(t.logs.some((line) => line.includes('the vendor could not count tokens'))).toBe(true);

    const short = await anthropic().messages.countTokens({
      model: 'deep',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    const long = await anthropic().messages.countTokens({
      model: 'deep',
      messages: [{ role: 'user', content: QUESTION }],
    });
    const withTools = await anthropic().messages.countTokens({
      model: 'deep',
      messages: [{ role: 'user', content: QUESTION }],
      tools: [WEATHER_TOOL],
    });
    expect(short.input_tokens).toBeGreaterThan(0);
    expect(long.input_tokens).toBeGreaterThan(short.input_tokens + 10);
    expect(withTools.input_tokens).toBeGreaterThan(long.input_tokens);
    const deep = await postJson(
      `${t.url}/v1/messages/count_tokens`,
      { model: 'deep', messages: [{ role: 'user', content: 'Hi' }] },
      { 'x-api-key': MASTER_KEY },
    );
    expect(deep.headers.get('x-gw-tokens-estimated')).toBe('true');
    expect(await deep.json()).toEqual(short);
    // Only the failed Anthropic count reached an upstream.
    expect(t.upstream.requests).toHaveLength(1);
  });

  it('refuses in Anthropic’s envelope: a bad body 400, an unknown model 404, no key 401', async () => {
    const bad = await thrownBy(() =>
      anthropic().messages.countTokens({ model: 'gpt', messages: [] as Anthropic.MessageParam[] }),
    );
    expect(bad).toBeInstanceOf(BadRequestError);
    const unknown = await thrownBy(() =>
      anthropic().messages.countTokens({ model: 'nope', messages: [{ role: 'user', content: 'Hi' }] }),
    );
    expect(unknown).toBeInstanceOf(NotFoundError);
    expect(unknown).toMatchObject({ error: { type: 'error', error: { type: 'not_found_error' } } });
    const anonymous = await thrownBy(() =>
      anthropic('sk-wrong').messages.countTokens({ model: 'gpt', messages: [{ role: 'user', content: 'Hi' }] }),
    );
    expect(anonymous).toBeInstanceOf(AuthenticationError);
    const get = await fetch(`${t.url}/v1/messages/count_tokens`, { headers: { 'x-api-key': MASTER_KEY } });
    expect(get.status).toBe(405);
    expect(t.upstream.requests).toHaveLength(0);
  });
});
