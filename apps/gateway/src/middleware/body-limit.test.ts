import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { chatBody, postJson, startTestGateway, type TestGateway } from '../test-helpers.ts';

let t: TestGateway | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const MIB = 1024 * 1024;

interface UploadResult {
  status: number;
  body: string;
  /** Bytes the client had handed to the socket when the answer arrived. */
  writtenWhenAnswered: number;
}

/**
 * Uploads `totalBytes` in 1 MiB pieces, paced by the socket, and stops as soon as an answer
 * arrives (as a real client would once it has its 413).
 */
function upload(url: string, totalBytes: number, chunked: boolean): Promise<UploadResult> {
  return new Promise((resolve, reject) => {
    let written = 0;
    let answered = false;
    const headers: Record<string, string | number> = { 'content-type': 'application/json' };
    if (!chunked) headers['content-length'] = totalBytes;
    const request = httpRequest(url, { method: 'POST', headers }, (response) => {
      answered = true;
      const writtenWhenAnswered = written;
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, body, writtenWhenAnswered });
        request.destroy();
      });
    });
    // Once answered, the server may drop the connection mid-upload; that is expected.
    request.on('error', (error) => {
      if (!answered) reject(error);
    });
    const piece = Buffer.alloc(MIB, 0x20);
    const pump = (): void => {
      while (!answered && written < totalBytes) {
        written += piece.length;
        if (!request.write(piece)) {
          request.once('drain', pump);
          return;
        }
      }
      if (!answered) request.end();
    };
    pump();
  });
}

describe('body limit', () => {
  it('refuses a 30 MiB body with 413 before it has all arrived, and keeps serving', async () => {
    t = await startTestGateway();
    const result = await upload(`${t.url}/v1/chat/completions`, 30 * MIB, false);
    expect(result.status).toBe(413);
    expect(JSON.parse(result.body)).toMatchObject({
      error: { type: 'invalid_request_error', code: 'request_too_large' },
    });
    expect(result.writtenWhenAnswered).toBeLessThan(30 * MIB);
    expect(t.upstream.requests).toHaveLength(0);

    const next = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'));
    expect(next.status).toBe(200);
  });

  it('refuses a 30 MiB chunked body (no Content-Length) with 413, and keeps serving', async () => {
    t = await startTestGateway();
    const result = await upload(`${t.url}/v1/chat/completions`, 30 * MIB, true);
    expect(result.status).toBe(413);
    expect(JSON.parse(result.body)).toMatchObject({ error: { code: 'request_too_large' } });
    expect(t.upstream.requests).toHaveLength(0);

    const next = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'));
    expect(next.status).toBe(200);
  });

  it('honours a configured limit', async () => {
    t = await startTestGateway({
      config: (upstream) => ({
        server: { bodyLimit: '1kb' },
        providers: [{ id: 'up', kind: 'openai', apiKey: 'sk-test-1234567', baseUrl: upstream.baseUrl }],
        models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
      }),
    });
    const small = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'));
    expect(small.status).toBe(200);
    const large = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat', { padding: 'x'.repeat(2048) }));
    expect(large.status).toBe(413);
  });
});
