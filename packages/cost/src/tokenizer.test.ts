import { Tiktoken } from 'js-tiktoken/lite';
import o200k from 'js-tiktoken/ranks/o200k_base';
import { describe, expect, it } from 'vitest';
import { IMAGE_TOKENS_HIGH, IMAGE_TOKENS_LOW } from './chat-token-count.ts';
import { countChatTokens, encodingForModel, getLoadedTokenizer, loadTokenizer } from './tokenizer.ts';

describe('encodingForModel', () => {
  it.each([
    ['gpt-4o', 'o200k_base'],
    ['gpt-4o-mini-2024-07-18', 'o200k_base'],
    ['gpt-4.1-nano', 'o200k_base'],
    ['gpt-5.4-mini', 'o200k_base'],
    ['o3', 'o200k_base'],
    ['o4-mini', 'o200k_base'],
    ['openai/gpt-oss-120b', 'o200k_base'],
    ['gpt-4', 'cl100k_base'],
    ['gpt-4-turbo', 'cl100k_base'],
    ['gpt-4-0613', 'cl100k_base'],
    ['gpt-3.5-turbo', 'cl100k_base'],
    ['gpt-35-turbo', 'cl100k_base'],
    ['text-embedding-3-small', 'cl100k_base'],
    ['text-embedding-ada-002', 'cl100k_base'],
    ['some-future-model', 'o200k_base'],
  ])('%s → %s', (model, encoding) => {
    expect(encodingForModel(model)).toBe(encoding);
  });
});

describe('loadTokenizer', () => {
  it('is not loaded before the first call, then is available synchronously', async () => {
    expect(getLoadedTokenizer('cl100k_base')).toBeUndefined();
    const tokenizer = await loadTokenizer('cl100k_base');
    expect(getLoadedTokenizer('cl100k_base')).toBe(tokenizer);
    expect(await loadTokenizer('cl100k_base')).toBe(tokenizer);
  });

  it('counts text exactly as tiktoken does', async () => {
    const tokenizer = await loadTokenizer('o200k_base');
    const reference = new Tiktoken(o200k);
    for (const text of ['Hello, world', '你好,世界', 'const x = 42; // answer', '   leading spaces', '']) {
      expect(tokenizer.countText(text), text).toBe(reference.encode(text).length);
    }
    expect(tokenizer.countText('Hello, world')).toBe(3);
  });

  it('counts special-token text as ordinary text instead of throwing', async () => {
    const tokenizer = await loadTokenizer('o200k_base');
    expect(tokenizer.countText('<|endoftext|>')).toBeGreaterThan(1);
  });

  it('rejects the wait when the signal aborts, and an aborted signal at once', async () => {
    const reason = new Error('client left');
    await expect(loadTokenizer('o200k_base', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });
});

describe('countChat', () => {
  it("follows OpenAI's chat format: 3 per message, role and content, 1 per name, 3 to prime the reply", async () => {
    const tokenizer = await loadTokenizer('o200k_base');
    const t = (text: string): number => tokenizer.countText(text);
    const messages = [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', name: 'alice', content: 'What is 2 + 2?' },
    ];
    const expected =
      3 + (3 + t('system') + t(messages[0]?.content ?? '')) + (3 + t('user') + t('What is 2 + 2?') + t('alice') + 1);
    expect(tokenizer.countChat({ messages })).toBe(expected);
    expect(await countChatTokens({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello' }] })).toBe(8);
  });

  it('counts text parts, and images at a flat estimate by detail', async () => {
    const tokenizer = await loadTokenizer('o200k_base');
    const base = tokenizer.countChat({ messages: [{ role: 'user', content: 'Describe' }] });
    const withImages = tokenizer.countChat({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Describe' },
            { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'low' } },
            { type: 'image_url', image_url: { url: 'https://example.com/b.png' } },
            { type: 'input_audio' },
          ],
        },
      ],
    });
    expect(withImages - base).toBe(IMAGE_TOKENS_LOW + IMAGE_TOKENS_HIGH);
  });

  it('adds tool definitions and tool calls as estimates that grow with the schema', async () => {
    const tokenizer = await loadTokenizer('o200k_base');
    const messages = [{ role: 'user', content: 'Weather in Paris?' }];
    const plain = tokenizer.countChat({ messages });
    const tool = {
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'Current weather for a city',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    };
    const withTool = tokenizer.countChat({ messages, tools: [tool] });
    expect(withTool - plain).toBe(
      12 +
        8 +
        tokenizer.countText('get_weather') +
        tokenizer.countText('Current weather for a city') +
        tokenizer.countText(JSON.stringify(tool.function.parameters)),
    );
    const withCall = tokenizer.countChat({
      messages: [
        ...messages,
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '18°C, cloudy' },
      ],
    });
    expect(withCall).toBeGreaterThan(plain + 20);
  });
});
