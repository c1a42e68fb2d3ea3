// CORS for browser apps, as a browser sees it over real HTTP: the preflight it sends before a cross-origin POST, and
// the headers it checks on the answer before the page may read it.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { chatBody, defaultTestConfig, gatewayPerTest, postJson } from '../test-helpers.ts';

const MASTER_KEY = 'gw-master-key-cors-test-0123456789';
const APP = 'https://app.example.com';
const start = gatewayPerTest();

function corsGateway(cors?: Record<string, unknown>) {
  return start({
    config: (upstream) => ({
      ...defaultTestConfig(upstream),
      auth: { masterKey: MASTER_KEY },
      ...(cors === undefined ? {} : { server: { cors } }),
    }),
  });
}

/** What a browser sends before `fetch(url, { method: 'POST', headers: { authorization, content-type } })`. */
function preflight(url: string, origin: string): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type, x-stainless-os',
    },
  });
}

describe('CORS', () => {
  it('answers a preflight from an allowed origin before authentication, with what the browser asked for', async () => {
    const t = await corsGateway({ origins: [APP, 'http://localhost:5173'] });
    const response = await preflight(t.url, APP);
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(APP);
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    expect(response.headers.get('access-control-allow-headers')).toBe('authorization,content-type,x-stainless-os');
    expect(response.headers.get('access-control-max-age')).toBe('600');
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect(response.headers.get('vary')).toContain('Origin');
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('a preflight from another origin gets no allow-origin header, so the browser stops there', async () => {
    const t = await corsGateway({ origins: [APP] });
    const response = await preflight(t.url, 'https://evil.example.net');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const subdomain = await preflight(t.url, 'https://sub.app.example.com');
    expect(subdomain.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('a request from an allowed origin carries the allow-origin header and exposes the gateway headers, JSON and SSE', async () => {
    const t = await corsGateway({ origins: [APP], exposeHeaders: ['x-custom'] });
    const headers = { origin: APP, authorization: `Bearer ${MASTER_KEY}` };
    const json = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'), headers);
    expect(json.status).toBe(200);
    expect(json.headers.get('access-control-allow-origin')).toBe(APP);
    expect(json.headers.get('vary')).toBe('Origin');
    const exposed = (json.headers.get('access-control-expose-headers') ?? '').split(', ');
    for (const name of ['x-request-id', 'x-gw-provider', 'x-gw-model', 'x-gw-attempts', 'x-gw-fallback', 'x-gw-cost'])
      expect(exposed).toContain(name);
    for (const name of ['x-ratelimit-remaining-requests', 'retry-after', 'x-custom']) expect(exposed).toContain(name);
    await json.text();

    const sse = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat', { stream: true }), headers);
    expect(sse.headers.get('content-type')).toContain('text/event-stream');
    expect(sse.headers.get('access-control-allow-origin')).toBe(APP);
    expect(await sse.text()).toContain('[DONE]');

    // The page can read why it was refused.
    const refused = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'), { origin: APP });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(APP);

    const other = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'), {
      ...headers,
      origin: 'https://evil.example.net',
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    await other.text();
  });

  it('any origin with "*", and credentials when asked for', async () => {
    const any = await corsGateway({ origins: ['*'] });
    const response = await preflight(any.url, 'https://anywhere.example.org');
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');

    const withCredentials = await corsGateway({ origins: [APP], credentials: true, maxAgeSeconds: 60 });
    const answer = await preflight(withCredentials.url, APP);
    expect(answer.headers.get('access-control-allow-credentials')).toBe('true');
    expect(answer.headers.get('access-control-max-age')).toBe('60');
  });

  it('is off by default: no CORS header, and a preflight is refused like any unauthenticated request', async () => {
    const t = await corsGateway();
    const response = await preflight(t.url, APP);
    expect(response.status).toBe(401);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const json = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'), {
      origin: APP,
      authorization: `Bearer ${MASTER_KEY}`,
    });
    expect(json.status).toBe(200);
    expect(json.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses an origin with a path, and credentials with "*", naming the field', () => {
    expect(() => parseConfig({ server: { cors: { origins: ['https://app.example.com/'] } } }, { env: {} })).toThrow(
      /server\.cors\.origins\[0\]/,
    );
    expect(() => parseConfig({ server: { cors: { origins: ['*'], credentials: true } } }, { env: {} })).toThrow(
      /server\.cors\.credentials/,
    );
    expect(() => parseConfig({ server: { cors: { origins: [] } } }, { env: {} })).toThrow(/server\.cors\.origins/);
  });
});
