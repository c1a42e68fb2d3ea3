import { describe, expect, it } from 'vitest';
import { sseData } from '@gw/test-kit';
import { chatBody, gatewayPerTest, postJson } from './test-helpers.ts';

const start = gatewayPerTest();

const AZURE_KEY = 'azure-test-key-5e6f7a8b9c0d1e2f';
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYTESTKEY';
const AWS_TOKEN = 'IQoJb3JpZ2luX2VjTESTSESSIONTOKEN';
const CLAUDE = 'anthropic.claude-3-5-haiku-20241022-v1:0';

function vendorConfig(upstream: { url: string }): Record<string, unknown> {
  return {
    providers: [
      {
        id: 'azure',
        kind: 'azure-openai',
        apiKey: AZURE_KEY,
        baseUrl: `${upstream.url}/openai`,
        apiVersion: '2024-10-21',
      },
      {
        id: 'aws',
        kind: 'bedrock',
        region: 'us-east-1',
        baseUrl: upstream.url,
        accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
        secretAccessKey: '${AWS_SECRET_ACCESS_KEY}',
        sessionToken: '${AWS_SESSION_TOKEN}',
      },
      { id: 'aws-nocreds', kind: 'bedrock', region: 'us-east-1' },
    ],
    models: [
      { name: 'gpt', targets: [{ provider: 'azure', model: 'prod-gpt-4o' }] },
      { name: 'claude', targets: [{ provider: 'aws', model: CLAUDE }] },
    ],
  };
}

const env = { AWS_SECRET_ACCESS_KEY: AWS_SECRET, AWS_SESSION_TOKEN: AWS_TOKEN };

describe('azure-openai and bedrock providers from the config', () => {
  it('routes one chat call to each, with Azure api-key auth and a SigV4-signed Converse call', async () => {
    const { url, upstream, logs } = await start({ config: vendorConfig, env });
    upstream.enqueue({ type: 'chat', content: 'From Azure.' }, { type: 'chat', content: 'From Bedrock.' });

    const azure = await postJson(`${url}/v1/chat/completions`, chatBody('gpt'));
    expect(azure.status).toBe(200);
    expect(await azure.json()).toMatchObject({ choices: [{ message: { content: 'From Azure.' } }] });
    const bedrock = await postJson(`${url}/v1/chat/completions`, chatBody('claude'));
    expect(bedrock.status).toBe(200);
    expect(await bedrock.json()).toMatchObject({
      model: CLAUDE,
      choices: [{ message: { role: 'assistant', content: 'From Bedrock.' }, finish_reason: 'stop' }],
      usage: { total_tokens: expect.any(Number) },
    });

    const [toAzure, toBedrock] = upstream.requests;
    expect(toAzure?.url).toBe('/openai/deployments/prod-gpt-4o/chat/completions?api-version=2024-10-21');
    expect(toAzure?.headers['api-key']).toBe(AZURE_KEY);
    expect(toBedrock?.path).toBe(`/model/${encodeURIComponent(CLAUDE)}/converse`);
    expect(toBedrock?.headers['authorization']).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/\d{8}\/us-east-1\/bedrock\/aws4_request, /,
    );
    expect(toBedrock?.headers['x-amz-security-token']).toBe(AWS_TOKEN);
    expect(toBedrock?.body).toMatchObject({ messages: [{ role: 'user', content: [{ text: expect.any(String) }] }] });

    const disabled = logs.filter((line) => line.includes('"aws-nocreds"') && line.includes('disabled'));
    expect(disabled.join('')).toContain('needs accessKeyId and secretAccessKey, or an apiKey');
    for (const secret of [AZURE_KEY, AWS_SECRET, AWS_TOKEN]) expect(logs.join('')).not.toContain(secret);
  });

  it('streams a Bedrock answer as OpenAI SSE with the usage chunk', async () => {
    const { url, upstream } = await start({ config: vendorConfig, env });
    upstream.enqueue({
      type: 'chat',
      content: 'Streamed from Bedrock',
      usage: { prompt_tokens: 4, completion_tokens: 3 },
    });
    const response = await postJson(
      `${url}/v1/chat/completions`,
      chatBody('claude', { stream: true, stream_options: { include_usage: true } }),
    );
    expect(response.status).toBe(200);
    const payloads = sseData(await response.text());
    expect(payloads.at(-1)).toBe('[DONE]');
    const chunks = payloads
      .slice(0, -1)
      .map((data): { choices: Array<{ delta: { content?: string } }>; usage?: unknown } => JSON.parse(data));
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('Streamed from Bedrock');
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 },
    });
    expect(upstream.requests[0]?.path).toBe(`/model/${encodeURIComponent(CLAUDE)}/converse-stream`);
  });
});
