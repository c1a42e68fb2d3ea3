import { waitFor } from '@gw/test-kit';
import { describe, expect, it } from 'vitest';
import { chatBody, gatewayPerTest, NO_RETRIES, postJson, TEST_VENDOR_KEY } from '../../test-helpers.ts';

const start = gatewayPerTest();

function accessLines(logs: readonly string[]): Array<Record<string, unknown>> {
  return logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line['msg'] === 'request');
}

function config(logging: Record<string, unknown>) {
  return (upstream: { baseUrl: string }) => ({
    logging,
    providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
    models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
    ...NO_RETRIES,
  });
}

describe('access lines', () => {
  it('writes one line per request: routed ones with deployment, tokens, cost and timings, others plainly', async () => {
    const t = await start({ config: config({}) });
    t.upstream.setDefault({ type: 'chat', usage: { prompt_tokens: 100, completion_tokens: 10 } });
    await (await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'), { 'x-request-id': 'json-1' })).text();
    const stream = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat', { stream: true }), {
      'x-request-id': 'sse-1',
    });
    await stream.text();
    await (await fetch(`${t.url}/health/live`, { headers: { 'x-request-id': 'live-1' } })).text();
    await waitFor(() => accessLines(t.logs).length === 3);
    const lines = accessLines(t.logs);
    expect(lines.find((line) => line['clientRequestId'] === 'json-1')).toMatchObject({
      level: 'info',
      endpoint: 'chat',
      alias: 'chat',
      provider: 'up',
      upstreamModel: 'gpt-4o-mini',
      outcome: 'completed',
      status: 200,
      attempts: 1,
      fallback: false,
      inputTokens: 100,
      outputTokens: 10,
      // 100 × $0.15 + 10 × $0.60 per 1M, exactly.
      cost: '0.000021',
      currency: 'USD',
    });
    expect(lines.find((line) => line['clientRequestId'] === 'sse-1')).toMatchObject({
      stream: true,
      ttftMs: expect.any(Number),
    });
    expect(lines.find((line) => line['clientRequestId'] === 'live-1')).toMatchObject({
      path: '/health/live',
      status: 200,
    });
    expect(lines.filter((line) => line['clientRequestId'] === 'json-1')).toHaveLength(1);
    expect(t.logs.join('')).not.toContain('Say hello');
  });

  it('with logging.bodies, adds the prompt and the answer with personal data redacted', async () => {
    const t = await start({ config: config({ bodies: true }) });
    t.upstream.setDefault({ type: 'chat', content: 'Write to ann@example.org or call +1 415-555-0123.' });
    const body = chatBody('chat', {
      messages: [{ role: 'user', content: 'My card is 4111 1111 1111 1111, mail bob@example.com' }],
    });
    await (await postJson(`${t.url}/v1/chat/completions`, body)).text();
    await waitFor(() => accessLines(t.logs).length === 1);
    const [line] = accessLines(t.logs);
    expect(line?.['prompt']).toContain('My card is [card], mail [email]');
    expect(line?.['answer']).toBe('Write to [email] or call [phone].');
    expect(t.logs.join('')).not.toContain('4111');
  });

  it('writes none with logging.requests: false', async () => {
    const t = await start({ config: config({ requests: false }) });
    await (await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'))).text();
    expect(accessLines(t.logs)).toEqual([]);
  });
});
