import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sseData, waitFor } from '@gw/test-kit';
import { chatBody, postJson, startTestGateway, TEST_VENDOR_KEY, type TestGateway } from './test-helpers.ts';

let t: TestGateway | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

function connectionRefused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

function configWithDrainTimeout(drainTimeoutMs: number) {
  return (upstream: { baseUrl: string }) => ({
    server: { drainTimeoutMs },
    providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
    models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
  });
}

describe('drain', () => {
  it('lets an in-flight stream finish while refusing new connections and reporting not ready', async () => {
    t = await startTestGateway({ config: configWithDrainTimeout(10_000) });
    const words = Array.from({ length: 15 }, (_, index) => `w${index}`);
    t.upstream.enqueue({ type: 'chat', content: words.join(' '), chunkDelayMs: 40 });
    const response = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat', { stream: true }));
    expect(response.status).toBe(200);
    const reader = response.body?.getReader();
    if (reader === undefined) throw new Error('no body');
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value, { stream: true });

    let drained = false;
    const draining = t.gateway.drain().then(() => {
      drained = true;
    });

    const ready = await t.gateway.app.request('/health/ready');
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ reason: expect.stringContaining('draining') });
    expect(await connectionRefused(t.url)).toBe(true);
    expect(drained).toBe(false);

    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const data = sseData(text);
    expect(data.at(-1)).toBe('[DONE]');
    const content = data
      .slice(0, -1)
      .map(
        (line) =>
          (JSON.parse(line) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '',
      )
      .join('');
    expect(content).toBe(words.join(' '));
    await draining;
    expect(drained).toBe(true);
    expect(t.upstream.requests[0]?.aborted).toBe(false);
  });

  it('ends a stream still running at drainTimeoutMs with an error event, and says how many it ended', async () => {
    t = await startTestGateway({ config: configWithDrainTimeout(200) });
    t.upstream.enqueue({ type: 'chat', content: 'a b c d e', stallAfterChunks: 2 });
    const response = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat', { stream: true }));
    const body = response.text();
    await waitFor(() => t?.gateway.state.streams.count() === 1);
    await t.gateway.drain();
    const data = sseData(await body);
    expect(data).not.toContain('[DONE]');
    expect(JSON.parse(data.at(-1) ?? '{}')).toMatchObject({
      error: { type: 'service_unavailable_error', code: 'shutting_down' },
    });
    await waitFor(() => t?.upstream.requests[0]?.aborted === true);
    const line = t.logs.find((entry) => entry.includes('drain deadline reached'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({ level: 'warn', streams: 1 });
  });

  it('resolves at once when nothing is in flight', async () => {
    t = await startTestGateway({ config: configWithDrainTimeout(10_000) });
    await (await fetch(`${t.url}/health/live`)).text();
    const started = Date.now();
    await t.gateway.drain();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await connectionRefused(t.url)).toBe(true);
  });
});
