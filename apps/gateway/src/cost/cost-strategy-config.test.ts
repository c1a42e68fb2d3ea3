// `strategy: cost` needs prices: the catalog's (or pricing.models, or baseModel) when a target is in it; an alias
// none of whose targets has a price is refused at start, naming the alias and those targets, instead of silently
// routing round-robin.
import { describe, expect, it } from 'vitest';
import { isConfigError } from '../config/config-error.ts';
import { chatBody, gatewayPerTest, postJson, TEST_VENDOR_KEY, startTestGateway } from '../test-helpers.ts';

const start = gatewayPerTest();

function costAlias(models: string[], pricing: Record<string, unknown> = {}) {
  return (upstream: { baseUrl: string }) => ({
    providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
    models: [
      { name: 'other', targets: [{ provider: 'up', model: 'gpt-4o' }] },
      { name: 'chat', strategy: 'cost', targets: models.map((model) => ({ provider: 'up', model })) },
    ],
    pricing,
    retry: { maxRetries: 0 },
  });
}

describe('strategy: cost without prices', () => {
  it('refuses an alias none of whose targets has a price, naming the alias and the targets', async () => {
    const error = await startTestGateway({ config: costAlias(['my-finetune', 'my-other-finetune']) }).catch(
      (caught: unknown) => caught,
    );
    expect(isConfigError(error)).toBe(true);
    const issues = isConfigError(error) ? error.issues : [];
    expect(issues).toEqual([
      {
        path: 'models[1].strategy',
        message: expect.stringContaining(
          'model "chat" routes by cost, but none of its targets has a price (up/my-finetune, up/my-other-finetune)',
        ) as string,
      },
    ]);
  });

  it('takes the catalog price of a target the catalog knows, with no pricing section', async () => {
    const { url, upstream } = await start({ config: costAlias(['gpt-4o', 'gpt-4o-mini']) });
    const response = await postJson(`${url}/v1/chat/completions`, chatBody('chat'));
    expect(response.status).toBe(200);
    expect(upstream.requests.at(-1)?.body).toMatchObject({ model: 'gpt-4o-mini' });
  });

  it('accepts unpriced targets once pricing.models prices them', async () => {
    const pricing = {
      models: { 'up/my-finetune': { input: 9, output: 9 }, 'up/my-other-finetune': { input: 1, output: 1 } },
    };
    const { url, upstream } = await start({ config: costAlias(['my-finetune', 'my-other-finetune'], pricing) });
    expect((await postJson(`${url}/v1/chat/completions`, chatBody('chat'))).status).toBe(200);
    expect(upstream.requests.at(-1)?.body).toMatchObject({ model: 'my-other-finetune' });
  });
});
