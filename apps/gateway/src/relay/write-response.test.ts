import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { startStandInUpstream, type StandInUpstream } from '@gw/providers/testing';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../app.ts';
import { parseConfig } from '../config/load.ts';
import { createLogger } from '../observability/logger.ts';
import { sseData } from '@gw/test-kit';
import { chatBody, defaultTestConfig, postJson } from '../test-helpers.ts';

let upstream: StandInUpstream | undefined;
let server: ServerType | undefined;
let dispose: (() => void) | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  dispose?.();
  await upstream?.close();
  server = undefined;
  upstream = undefined;
});

/**
 * The gateway's app behind an outer hono app whose middleware sets headers before the gateway's routes run, as a
 * CORS or rate-limit middleware would, served by @hono/node-server (where JSON and SSE answers are written straight
 * to the Node response).
 */
async function startBehindMiddleware(): Promise<string> {
  upstream = await startStandInUpstream();
  const config = parseConfig(defaultTestConfig(upstream), { env: {} });
  const { app, state } = createApp({ config, logger: createLogger({ level: 'error', write: () => undefined }) });
  dispose = () => state.dispose();
  const outer = new Hono();
  outer.use(async (c, next) => {
    c.header('x-from-middleware', 'present');
    c.header('set-cookie', 'a=1');
    c.header('set-cookie', 'b=2', { append: true });
    await next();
  });
  outer.route('/', app);
  const address = await new Promise<AddressInfo>((resolve) => {
    server = serve({ fetch: outer.fetch, hostname: '127.0.0.1', port: 0 }, resolve);
  });
  return `http://127.0.0.1:${address.port}`;
}

describe('the response writer', () => {
  it("sends the headers a middleware set on JSON answers, with the gateway's own and an exact length", async () => {
    const url = await startBehindMiddleware();
    const response = await postJson(`${url}/v1/chat/completions`, chatBody('chat'), { 'x-request-id': 'json-1' });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-from-middleware')).toBe('present');
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(response.headers.get('x-request-id')).toBe('json-1');
    expect(response.headers.get('content-type')).toBe('application/json');
    const text = await response.text();
    expect(Number(response.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    expect(JSON.parse(text)).toMatchObject({ object: 'chat.completion' });
  });

  it('sends them on SSE answers too, and on Anthropic-format answers', async () => {
    const url = await startBehindMiddleware();
    const stream = await postJson(`${url}/v1/chat/completions`, chatBody('chat', { stream: true }), {
      'x-request-id': 'sse-1',
    });
    expect(stream.headers.get('x-from-middleware')).toBe('present');
    expect(stream.headers.get('x-request-id')).toBe('sse-1');
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    expect(sseData(await stream.text()).at(-1)).toBe('[DONE]');

    const message = await postJson(`${url}/v1/messages`, {
      model: 'chat',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(message.status).toBe(200);
    expect(message.headers.get('x-from-middleware')).toBe('present');
    expect(await message.json()).toMatchObject({ type: 'message' });
  });

  it('sends them on error answers', async () => {
    const url = await startBehindMiddleware();
    const response = await postJson(`${url}/v1/chat/completions`, { model: 'chat' });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-from-middleware')).toBe('present');
  });
});
