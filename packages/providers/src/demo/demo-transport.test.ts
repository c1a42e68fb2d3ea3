import { describe, expect, it } from 'vitest';
import { createProvider } from '../create-provider.ts';
import { isProviderError } from '../provider-error.ts';
import type { ChatCompletionChunk } from '../chat-api.ts';

const messages = [{ role: 'user' as const, content: 'What is the capital of France?' }];

describe('kind demo', () => {
  it('answers in-process without a key, labelled as a demo, with usage', async () => {
    const provider = createProvider({ kind: 'demo' });
    expect(provider).toMatchObject({ id: 'demo', kind: 'demo' });
    const response = await provider.chat({ model: 'demo-echo', messages });
    const content = response.choices[0]?.message.content;
    expect(content).toMatch(/^\[demo\] /);
    expect(content).toContain('no language model was called');
    expect(content).toContain('You said: What is the capital of France?');
    expect(response.model).toBe('demo-echo');
    expect(response.usage).toMatchObject({ prompt_tokens: 6 });
    expect(response.usage?.completion_tokens).toBeGreaterThan(10);
  });

  it('streams the same answer word by word and ends with usage', async () => {
    const provider = createProvider({ kind: 'demo', id: 'try-me' });
    const json = await provider.chat({ model: 'any-name', messages });
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of provider.chatStream({ model: 'any-name', messages })) chunks.push(chunk);
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(json.choices[0]?.message.content);
    expect(chunks.filter((chunk) => (chunk.choices[0]?.delta.content ?? '') !== '').length).toBeGreaterThan(10);
    expect(chunks.at(-1)?.usage).toEqual(json.usage);
  });

  it('stops a stream when the signal is aborted', async () => {
    const provider = createProvider({ kind: 'demo' });
    const controller = new AbortController();
    const seen: string[] = [];
    const run = async (): Promise<unknown> => {
      try {
        for await (const chunk of provider.chatStream(
          { model: 'demo-echo', messages },
          { signal: controller.signal },
        )) {
          seen.push(chunk.choices[0]?.delta.content ?? '');
          if (seen.length === 3) controller.abort();
        }
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const error = await run();
    expect(isProviderError(error) && error.kind).toBe('cancelled');
    expect(seen.length).toBe(3);
  });

  it('refuses a request the OpenAI API would refuse, as an invalid_request', async () => {
    const provider = createProvider({ kind: 'demo' });
    const error = await provider.chat({ model: 'demo-echo', messages: [] }).catch((caught: unknown) => caught);
    expect(isProviderError(error) && [error.kind, error.status]).toEqual(['invalid_request', 400]);
  });

  it('answers embeddings, the model list and the health check', async () => {
    const provider = createProvider({ kind: 'demo' });
    const embeddings = await provider.embed({ model: 'demo-echo', input: ['a b', 'c'] });
    expect(embeddings.data).toHaveLength(2);
    expect(embeddings.usage).toMatchObject({ prompt_tokens: 3 });
    expect((await provider.listModels()).map((model) => model.id)).toEqual(['demo-echo']);
    expect((await provider.healthCheck()).ok).toBe(true);
  });

  it('takes no baseUrl: its calls never leave the process', () => {
    let error: unknown;
    try {
      createProvider({ kind: 'demo', baseUrl: 'http://127.0.0.1:1/v1' });
    } catch (caught) {
      error = caught;
    }
    expect(isProviderError(error) && error.message).toContain('kind "demo" answers in-process and takes no baseUrl');
  });
});
