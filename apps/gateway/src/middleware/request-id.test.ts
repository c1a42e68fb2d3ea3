import { afterEach, describe, expect, it } from 'vitest';
import { chatBody, postJson, startTestGateway, type TestGateway } from '../test-helpers.ts';
import { uuidv7 } from '../uuidv7.ts';
import { sanitiseRequestId } from './request-id.ts';

let t: TestGateway | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('x-request-id', () => {
  it('echoes the id the client sent', async () => {
    t = await startTestGateway();
    const response = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'), {
      'x-request-id': 'client-id_1.2:3',
    });
    expect(response.headers.get('x-request-id')).toBe('client-id_1.2:3');
  });

  it('generates a UUID when the client sent none, different per request', async () => {
    t = await startTestGateway();
    const first = (await fetch(`${t.url}/health/live`)).headers.get('x-request-id');
    const second = (await fetch(`${t.url}/health/live`)).headers.get('x-request-id');
    expect(first).toMatch(UUID);
    expect(second).toMatch(UUID);
    expect(first).not.toBe(second);
  });

  it('is on error answers too', async () => {
    t = await startTestGateway();
    const notFound = await fetch(`${t.url}/nowhere`, { headers: { 'x-request-id': 'err-1' } });
    expect(notFound.status).toBe(404);
    expect(notFound.headers.get('x-request-id')).toBe('err-1');
    const badJson = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      body: '{',
      headers: { 'x-request-id': 'err-2' },
    });
    expect(badJson.status).toBe(400);
    expect(badJson.headers.get('x-request-id')).toBe('err-2');
    t.upstream.enqueue({ type: 'error', status: 500 });
    const upstreamError = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'), { 'x-request-id': 'err-3' });
    expect(upstreamError.status).toBe(502);
    expect(upstreamError.headers.get('x-request-id')).toBe('err-3');
  });

  it('sanitises what the client sent', async () => {
    t = await startTestGateway();
    const response = await fetch(`${t.url}/health/live`, { headers: { 'x-request-id': 'abc<script>"x"' } });
    expect(response.headers.get('x-request-id')).toBe('abcscriptx');
    const long = await fetch(`${t.url}/health/live`, { headers: { 'x-request-id': 'a'.repeat(300) } });
    expect(long.headers.get('x-request-id')).toBe('a'.repeat(128));
    const junk = await fetch(`${t.url}/health/live`, { headers: { 'x-request-id': '!!!' } });
    expect(junk.headers.get('x-request-id')).toMatch(UUID);
  });
});

describe('sanitiseRequestId', () => {
  it('keeps [A-Za-z0-9._:-] up to 128 characters', () => {
    expect(sanitiseRequestId('Az09._:-')).toBe('Az09._:-');
    expect(sanitiseRequestId('a b\tc\u00e9')).toBe('abc');
    expect(sanitiseRequestId('')).toBeUndefined();
    expect(sanitiseRequestId(undefined)).toBeUndefined();
  });
});

describe('uuidv7', () => {
  it('is a version 7 UUID whose first 48 bits are the time, sorting by it', () => {
    const early = uuidv7(Date.UTC(2026, 0, 1));
    const late = uuidv7(Date.UTC(2026, 11, 3));
    for (const id of [early, late])
      expect(id).toMatch(/^[\da-f]{8}-[\da-f]{4}-7[\da-f]{3}-[89ab][\da-f]{3}-[\da-f]{12}$/);
    expect(parseInt(early.replace('-', '').slice(0, 12), 16)).toBe(Date.UTC(2026, 0, 1));
    expect(early < late).toBe(true);
    expect(uuidv7()).not.toBe(uuidv7());
  });

  it('keys every request, also when the client sends the same x-request-id twice', async () => {
    t = await startTestGateway();
    const ids = [];
    for (let index = 0; index < 2; index += 1) {
      const response = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'), { 'x-request-id': 'same' });
      expect(response.headers.get('x-request-id')).toBe('same');
      ids.push(response.headers.get('x-gw-request-id'));
    }
    expect(ids[0]).not.toBe(ids[1]);
  });
});
