import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@gw/test-kit';
import type { TransportResponse } from '@gw/providers';
import { createUpstreamFetch, type UpstreamFetch } from './upstream-fetch.ts';

let server: Server | undefined;
let client: UpstreamFetch | undefined;

afterEach(async () => {
  client?.close();
  client = undefined;
  if (server !== undefined) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    server = undefined;
  }
});

async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      text += chunk;
    });
    request.on('end', () => resolve(text));
  });
}

/** A 64 MiB body written only as fast as the socket drains; `sent()` is how much has been written so far. */
async function serveLargeBody(): Promise<{ url: string; sent: () => number; total: number }> {
  let sent = 0;
  const total = 64 * 1024 * 1024;
  const url = await serve((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    const piece = Buffer.alloc(64 * 1024, 1);
    const pump = (): void => {
      while (sent < total) {
        sent += piece.length;
        if (!response.write(piece)) {
          response.once('drain', pump);
          return;
        }
      }
      response.end();
    };
    pump();
  });
  return { url, sent: () => sent, total };
}

/** The chunk iterator of a transport answer's body (the gateway's transport gives an async iterable). */
function chunkIterator(response: TransportResponse): AsyncIterator<Uint8Array> {
  if (response.body === null || !(Symbol.asyncIterator in response.body)) throw new Error('no streaming body');
  return response.body[Symbol.asyncIterator]();
}

describe('createUpstreamFetch', () => {
  it('sends method, headers and body of a Request, and returns status, headers and body', async () => {
    let seen: {
      method?: string | undefined;
      auth?: string | undefined;
      type?: string | undefined;
      body?: string | undefined;
    } = {};
    const url = await serve((request, response) => {
      void readBody(request).then((body) => {
        seen = {
          method: request.method,
          auth: request.headers.authorization,
          type: request.headers['content-type'],
          body,
        };
        response.writeHead(201, { 'content-type': 'application/json', 'x-upstream': 'yes' });
        response.end('{"ok":true}');
      });
    });
    client = createUpstreamFetch();
    const response = await client.fetch(
      new Request(`${url}/v1/chat/completions?x=1`, {
        method: 'POST',
        headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
        body: '{"a":1}',
      }),
    );
    expect(response.status).toBe(201);
    expect(response.headers.get('x-upstream')).toBe('yes');
    expect(await response.json()).toEqual({ ok: true });
    expect(seen).toEqual({ method: 'POST', auth: 'Bearer k', type: 'application/json', body: '{"a":1}' });
  });

  it("sends a URL string with a string body and plain headers as given (the providers' call)", async () => {
    const seen: Array<{
      method?: string | undefined;
      path?: string | undefined;
      headers: IncomingMessage['headers'];
      body: string;
    }> = [];
    const url = await serve((request, response) => {
      void readBody(request).then((body) => {
        seen.push({ method: request.method, path: request.url, headers: request.headers, body });
        response.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'yes' });
        response.end('{"ok":"é"}');
      });
    });
    client = createUpstreamFetch();
    const body = '{"text":"héllo"}';
    for (let call = 0; call < 2; call += 1) {
      const response = await client.fetch(`${url}/v1/chat/completions?x=1`, {
        method: 'POST',
        headers: { Authorization: 'Bearer k', 'content-type': 'application/json', 'X-Trace': `t-${call}` },
        body,
        signal: new AbortController().signal,
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-upstream')).toBe('yes');
      expect(await response.json()).toEqual({ ok: 'é' });
    }
    expect(seen).toHaveLength(2);
    expect(seen[1]).toMatchObject({ method: 'POST', path: '/v1/chat/completions?x=1', body });
    expect(seen[1]?.headers).toMatchObject({
      authorization: 'Bearer k',
      'content-type': 'application/json',
      'x-trace': 't-1',
      'content-length': String(Buffer.byteLength(body)),
    });
  });

  it('gives a string body without a content-type the one fetch would give it', async () => {
    let type: string | undefined;
    const url = await serve((request, response) => {
      type = request.headers['content-type'];
      request.resume();
      response.end();
    });
    client = createUpstreamFetch();
    await client.fetch(url, { method: 'POST', body: 'plain' });
    expect(type).toBe(new Request(url, { method: 'POST', body: 'plain' }).headers.get('content-type'));
  });

  it('still takes the forms a fast path does not cover: Headers, byte bodies, lower-case methods', async () => {
    const seen: Array<{ method?: string | undefined; trace?: string | undefined; body: string }> = [];
    const url = await serve((request, response) => {
      void readBody(request).then((body) => {
        seen.push({ method: request.method, trace: String(request.headers['x-trace']), body });
        response.end();
      });
    });
    client = createUpstreamFetch();
    await client.fetch(new URL(url), {
      method: 'post',
      headers: new Headers({ 'x-trace': 'h' }),
      body: new TextEncoder().encode('bytes'),
    });
    expect(seen).toEqual([{ method: 'POST', trace: 'h', body: 'bytes' }]);
  });

  it('decodes a gzip body', async () => {
    const url = await serve((_request, response) => {
      response.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' });
      response.end(gzipSync('hello compressed world'));
    });
    client = createUpstreamFetch();
    expect(await (await client.fetch(url)).text()).toBe('hello compressed world');
  });

  it('streams the body as it arrives', async () => {
    let finish: (() => void) | undefined;
    const url = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: first\n\n');
      finish = () => response.end('data: last\n\n');
    });
    client = createUpstreamFetch();
    const response = await client.fetch(url);
    const reader = response.body?.getReader();
    if (reader === undefined) throw new Error('no body');
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('data: first\n\n');
    finish?.();
    const rest: string[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest.push(new TextDecoder().decode(value));
    }
    expect(rest.join('')).toBe('data: last\n\n');
  });

  it('reads only as fast as the consumer: a paused reader holds the upstream back', async () => {
    const { url, sent, total } = await serveLargeBody();
    client = createUpstreamFetch();
    const response = await client.fetch(url);
    const reader = response.body?.getReader();
    await reader?.read();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sent()).toBeLessThan(total / 4);
    await reader?.cancel();
  });

  it('aborts mid-body: the read fails and the upstream sees the connection close', async () => {
    let closed = false;
    const url = await serve((request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: one\n\n');
      request.socket.once('close', () => {
        closed = true;
      });
    });
    client = createUpstreamFetch();
    const controller = new AbortController();
    const response = await client.fetch(url, { signal: controller.signal });
    const reader = response.body?.getReader();
    await reader?.read();
    controller.abort();
    await expect(reader?.read()).rejects.toBeDefined();
    await waitFor(() => closed, 1000);
  });

  it('rejects with the signal reason when aborted before the answer', async () => {
    const url = await serve(() => undefined);
    client = createUpstreamFetch();
    const controller = new AbortController();
    const pending = client.fetch(url, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('gone')), 20);
    await expect(pending).rejects.toThrow('gone');
    await expect(client.fetch(url, { signal: AbortSignal.abort() })).rejects.toBeDefined();
  });

  it('rejects with a TypeError carrying the network error when the connection fails', async () => {
    const probe = createNetServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const address = probe.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    client = createUpstreamFetch();
    const failure: unknown = await client.fetch(`http://127.0.0.1:${port}/`).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TypeError);
    expect(
      failure instanceof TypeError &&
        typeof failure.cause === 'object' &&
        failure.cause !== null &&
        'code' in failure.cause
        ? failure.cause.code
        : undefined,
    ).toBe('ECONNREFUSED');
  });

  it('fails the body when the upstream cuts the connection mid-body', async () => {
    const url = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: one\n\n', () => setTimeout(() => response.socket?.destroy(), 20));
    });
    client = createUpstreamFetch();
    const response = await client.fetch(url);
    await expect(response.text()).rejects.toBeDefined();
  });
});

describe('the transport of createUpstreamFetch', () => {
  it('sends the request as given and answers status, headers (any case, repeats joined) and text', async () => {
    let seen: {
      method?: string | undefined;
      auth?: string | undefined;
      type?: string | undefined;
      length?: string | undefined;
      body?: string | undefined;
    } = {};
    const url = await serve((request, response) => {
      void readBody(request).then((body) => {
        seen = {
          method: request.method,
          auth: request.headers.authorization,
          type: request.headers['content-type'],
          length: request.headers['content-length'],
          body,
        };
        response.writeHead(429, [
          ['content-type', 'application/json'],
          ['retry-after', '2'],
          ['x-many', 'a'],
          ['x-many', 'b'],
        ]);
        response.end('{"error":{"message":"slow down é"}}');
      });
    });
    client = createUpstreamFetch();
    const response = await client.transport(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: 'Bearer k', 'Content-Type': 'application/json' },
      body: '{"a":"é"}',
    });
    expect([response.status, response.ok]).toEqual([429, false]);
    expect([
      response.headers.get('Retry-After'),
      response.headers.get('x-many'),
      response.headers.get('x-none'),
    ]).toEqual(['2', 'a, b', null]);
    expect(await response.text()).toBe('{"error":{"message":"slow down é"}}');
    expect(seen).toEqual({
      method: 'POST',
      auth: 'Bearer k',
      type: 'application/json',
      length: String(Buffer.byteLength('{"a":"é"}')),
      body: '{"a":"é"}',
    });
  });

  it('streams the body as it arrives, and stops the upstream when the reader stops early', async () => {
    let closed = false;
    let later: (() => void) | undefined;
    const url = await serve((request, response) => {
      request.socket.once('close', () => {
        closed = true;
      });
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: one\n\n');
      later = () => response.write('data: two\n\n');
    });
    client = createUpstreamFetch();
    const response = await client.transport(url, { method: 'POST', headers: {}, body: '{}' });
    const iterator = chunkIterator(response);
    // The first chunk is there while the upstream has not ended its answer.
    expect(Buffer.from((await iterator.next()).value ?? '').toString()).toBe('data: one\n\n');
    later?.();
    expect(Buffer.from((await iterator.next()).value ?? '').toString()).toBe('data: two\n\n');
    await iterator.return?.();
    await waitFor(() => closed, 1000);
  });

  it('keeps the connection for the next call once an answer was read to its end, streamed or not', async () => {
    const ports: number[] = [];
    const url = await serve((request, response) => {
      ports.push(request.socket.remotePort ?? 0);
      response.writeHead(200, { 'content-type': request.url === '/stream' ? 'text/event-stream' : 'application/json' });
      response.end(request.url === '/stream' ? 'data: one\n\ndata: [DONE]\n\n' : '{"ok":true}');
    });
    client = createUpstreamFetch();
    const { transport } = client;
    expect(await (await transport(`${url}/json`, { method: 'POST', headers: {}, body: '{}' })).text()).toBe(
      '{"ok":true}',
    );
    const streamed = await transport(`${url}/stream`, { method: 'POST', headers: {}, body: '{}' });
    const iterator = chunkIterator(streamed);
    while ((await iterator.next()).done !== true);
    // Stopping after the end (as a parser does) must not cost the connection.
    await iterator.return?.();
    await transport(`${url}/json`, { method: 'POST', headers: {}, body: '{}' }).then((response) => response.text());
    expect(ports).toHaveLength(3);
    expect(new Set(ports).size).toBe(1);
  });

  it('reads only as fast as the consumer: a reader that waits holds the upstream back', async () => {
    const { url, sent, total } = await serveLargeBody();
    client = createUpstreamFetch();
    const response = await client.transport(url, { method: 'GET', headers: {} });
    const iterator = chunkIterator(response);
    await iterator.next();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sent()).toBeLessThan(total / 4);
    await iterator.return?.();
  });

  it('decodes a gzip body', async () => {
    const url = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      response.end(gzipSync('{"zipped":true}'));
    });
    client = createUpstreamFetch();
    expect(await (await client.transport(url, { method: 'GET', headers: {} })).text()).toBe('{"zipped":true}');
  });

  it('fails a read when aborted mid-body or when the upstream cuts the connection', async () => {
    const url = await serve((request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: one\n\n', () => {
        if (request.url === '/cut') setTimeout(() => response.socket?.destroy(), 20);
      });
    });
    client = createUpstreamFetch();
    const controller = new AbortController();
    const aborted = await client.transport(`${url}/abort`, { method: 'GET', headers: {}, signal: controller.signal });
    const iterator = chunkIterator(aborted);
    // The first chunk is there; the second never comes before the abort.
    const reading = iterator.next().then(() => iterator.next());
    setTimeout(() => controller.abort(new Error('gone')), 20);
    await expect(reading).rejects.toBeDefined();
    const cut = await client.transport(`${url}/cut`, { method: 'GET', headers: {} });
    await expect(cut.text()).rejects.toBeDefined();
    await expect(
      client.transport(url, { method: 'GET', headers: {}, signal: AbortSignal.abort(new Error('early')) }),
    ).rejects.toThrow('early');
  });
});

describe('connect timeout', () => {
  it('fails a connection that is not established within connectTimeoutMs as ETIMEDOUT', async () => {
    // A TCP server that never speaks TLS: the TCP handshake completes, the TLS one never does.
    const silent = createNetServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    if (address === null || typeof address === 'string') throw new Error('no address');
    const upstream = createUpstreamFetch({ connectTimeoutMs: 100 });
    try {
      const error: unknown = await upstream.fetch(`https://127.0.0.1:${address.port}/v1/models`).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(TypeError);
      expect(Reflect.get(Object(Reflect.get(Object(error), 'cause')), 'code')).toBe('ETIMEDOUT');
    } finally {
      upstream.close();
      silent.close();
    }
  });
});
