import { afterEach, describe, expect, it } from 'vitest';
import { chatBody, postJson, startTestGateway, TEST_VENDOR_KEY, type TestGateway } from '../test-helpers.ts';

const MASTER_KEY = 'gw-master-key-for-tests-7f3a9c21';

let t: TestGateway | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function startWithMasterKey(): Promise<TestGateway> {
  t = await startTestGateway({
    config: (upstream) => ({
      auth: { masterKey: '${TEST_MASTER_KEY}' },
      logging: { requests: true },
      providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
      models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
    }),
    env: { TEST_MASTER_KEY: MASTER_KEY },
  });
  return t;
}

describe('master key auth', () => {
  it('answers 401 without a key, before reading the body and without calling upstream', async () => {
    const { url, upstream } = await startWithMasterKey();
    const response = await fetch(`${url}/v1/chat/completions`, { method: 'POST', body: 'not even json' });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({
      error: { type: 'authentication_error', code: 'invalid_api_key', param: null },
    });
    expect(upstream.requests).toHaveLength(0);
  });

  it('answers 401 for a wrong key or a wrong scheme, and calls no upstream', async () => {
    const { url, upstream } = await startWithMasterKey();
    for (const authorization of [
      `Bearer ${MASTER_KEY}x`,
      `Bearer ${MASTER_KEY.slice(0, -1)}X`,
      'Bearer short',
      `Basic ${MASTER_KEY}`,
      MASTER_KEY,
    ]) {
      const response = await postJson(`${url}/v1/chat/completions`, chatBody('chat'), { authorization });
      expect(response.status).toBe(401);
      expect(await response.text()).not.toContain(MASTER_KEY);
    }
    const models = await fetch(`${url}/v1/models`, { headers: { authorization: 'Bearer nope' } });
    expect(models.status).toBe(401);
    expect(upstream.requests).toHaveLength(0);
  });

  it('lets the right key through', async () => {
    const { url, upstream } = await startWithMasterKey();
    const response = await postJson(`${url}/v1/chat/completions`, chatBody('chat'), {
      authorization: `Bearer ${MASTER_KEY}`,
    });
    expect(response.status).toBe(200);
    expect(upstream.requests).toHaveLength(1);
    // The client's key is ours; the upstream must get the vendor key instead.
    expect(JSON.stringify(upstream.requests[0]?.headers)).not.toContain(MASTER_KEY);
  });

  it('accepts the key as x-api-key (Anthropic clients) on every /v1 route, and checks it as strictly', async () => {
    const { url, upstream } = await startWithMasterKey();
    expect((await postJson(`${url}/v1/chat/completions`, chatBody('chat'), { 'x-api-key': MASTER_KEY })).status).toBe(
      200,
    );
    expect((await fetch(`${url}/v1/models`, { headers: { 'x-api-key': MASTER_KEY } })).status).toBe(200);
    const wrong = await postJson(`${url}/v1/chat/completions`, chatBody('chat'), { 'x-api-key': `${MASTER_KEY}x` });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain(MASTER_KEY);
    // A Bearer header, when sent, is the key that counts.
    expect(
      (
        await postJson(`${url}/v1/chat/completions`, chatBody('chat'), {
          authorization: 'Bearer wrong',
          'x-api-key': MASTER_KEY,
        })
      ).status,
    ).toBe(401);
    expect((await postJson(`${url}/v1/chat/completions`, chatBody('chat'), { 'x-api-key': '' })).status).toBe(401);
    expect(upstream.requests).toHaveLength(1);
  });

  it('leaves /health open', async () => {
    const { url } = await startWithMasterKey();
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);
  });

  it('never writes the master key to a response or the log', async () => {
    const { url, logs } = await startWithMasterKey();
    const bodies: string[] = [];
    for (const authorization of [`Bearer ${MASTER_KEY}`, `Bearer ${MASTER_KEY}-wrong`]) {
      const response = await postJson(`${url}/v1/chat/completions`, chatBody('chat'), { authorization });
      bodies.push(await response.text(), JSON.stringify([...response.headers]));
    }
    const stream = await postJson(`${url}/v1/chat/completions`, chatBody('chat', { stream: true }), {
      authorization: `Bearer ${MASTER_KEY}`,
    });
    bodies.push(await stream.text());
    expect(bodies.join('\n')).not.toContain(MASTER_KEY);
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.join('\n')).not.toContain(MASTER_KEY);
  });

  it('announces open dev mode loudly when no master key is set', async () => {
    t = await startTestGateway();
    const warning = t.logs.find((line) => line.includes('OPEN DEV MODE'));
    expect(warning).toBeDefined();
    expect(JSON.parse(warning ?? '{}')).toMatchObject({ level: 'warn' });
    expect((await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'))).status).toBe(200);
  });
});
