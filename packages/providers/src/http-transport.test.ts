import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  connect as connectTcp,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { inspect } from 'node:util';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpTransport, type HttpTransport } from './http-transport.ts';
import { isPoolTimeoutError } from './pool-timeout-error.ts';
import type { TransportResponse } from './transport.ts';

const servers: Array<Server | NetServer> = [];
let client: HttpTransport | undefined;

afterEach(async () => {
  await client?.close();
  client = undefined;
  for (const server of servers.splice(0)) {
    if ('closeAllConnections' in server) server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

function portOf(server: Server | NetServer): number {
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
  return `http://127.0.0.1:${portOf(server)}`;
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

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The chunk iterator of an answer's body. */
function chunkIterator(response: TransportResponse): AsyncIterator<Uint8Array> {
  if (response.body === null || !(Symbol.asyncIterator in response.body)) throw new Error('no streaming body');
  return response.body[Symbol.asyncIterator]();
}

const text = (chunk: Uint8Array | undefined): string => Buffer.from(chunk ?? new Uint8Array()).toString();

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = portOf(probe);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('createHttpTransport', () => {
  it('sends the request as given and answers status, headers (any case, repeats joined) and text', async () => {
    let seen: Record<string, string | undefined> = {};
    const url = await serve((request, response) => {
      void readBody(request).then((body) => {
        seen = {
          method: request.method,
          path: request.url,
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
    client = createHttpTransport({ proxyEnv: {} });
    const response = await client.transport(`${url}/v1/chat/completions?x=1`, {
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
      path: '/v1/chat/completions?x=1',
      auth: 'Bearer k',
      type: 'application/json',
      length: String(Buffer.byteLength('{"a":"é"}')),
      body: '{"a":"é"}',
    });
  });

  it('gives a string body without a content-type the one fetch would give it', async () => {
    let type: string | undefined;
    const url = await serve((request, response) => {
      type = request.headers['content-type'];
      request.resume();
      response.end();
    });
    client = createHttpTransport({ proxyEnv: {} });
    await (await client.transport(url, { method: 'POST', headers: {}, body: 'plain' })).text();
    expect(type).toBe(new Request(url, { method: 'POST', body: 'plain' }).headers.get('content-type'));
  });

  it('decodes gzip, deflate and br answers', async () => {
    const encoders: Record<string, (input: string) => Buffer> = {
      gzip: (input) => gzipSync(input),
      deflate: (input) => deflateSync(input),
      br: (input) => brotliCompressSync(input),
    };
    const url = await serve((request, response) => {
      const encoding = (request.url ?? '/').slice(1);
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding });
      response.end(encoders[encoding]?.(`{"zipped":"${encoding}"}`));
    });
    client = createHttpTransport({ proxyEnv: {} });
    for (const encoding of Object.keys(encoders)) {
      const response = await client.transport(`${url}/${encoding}`, { method: 'GET', headers: {} });
      expect(await response.text()).toBe(`{"zipped":"${encoding}"}`);
    }
  });

  it('fails the read of a compressed answer that is corrupt', async () => {
    const url = await serve((_request, response) => {
      response.writeHead(200, { 'content-encoding': 'gzip' });
      response.end('not gzip at all');
    });
    client = createHttpTransport({ proxyEnv: {} });
    const response = await client.transport(url, { method: 'GET', headers: {} });
    await expect(response.text()).rejects.toBeInstanceOf(TypeError);
  });

  it('answers a body-less status with a null body', async () => {
    const url = await serve((_request, response) => {
      response.writeHead(204);
      response.end();
    });
    client = createHttpTransport({ proxyEnv: {} });
    const response = await client.transport(url, { method: 'DELETE', headers: {} });
    expect([response.status, response.body, await response.text()]).toEqual([204, null, '']);
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
    client = createHttpTransport({ proxyEnv: {} });
    const response = await client.transport(url, { method: 'POST', headers: {}, body: '{}' });
    const iterator = chunkIterator(response);
    // The first chunk is there while the upstream has not ended its answer.
    expect(text((await iterator.next()).value)).toBe('data: one\n\n');
    later?.();
    expect(text((await iterator.next()).value)).toBe('data: two\n\n');
    await iterator.return?.();
    await waitFor(() => closed, 2000);
    expect(client.stats().inFlight).toBe(0);
  });

  it('keeps the connection for the next call once an answer was read to its end, streamed or not', async () => {
    const ports: number[] = [];
    const url = await serve((request, response) => {
      ports.push(request.socket.remotePort ?? 0);
      response.writeHead(200, { 'content-type': request.url === '/stream' ? 'text/event-stream' : 'application/json' });
      response.end(request.url === '/stream' ? 'data: one\n\ndata: [DONE]\n\n' : '{"ok":true}');
    });
    client = createHttpTransport({ proxyEnv: {} });
    const { transport } = client;
    // undici gives a connection back to its pool one event-loop turn after the answer ended (so that a server that
    // closes it despite keep-alive is seen first); a call made before then opens another connection.
    const turn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));
    expect(await (await transport(`${url}/json`, { method: 'POST', headers: {}, body: '{}' })).text()).toBe(
      '{"ok":true}',
    );
    await turn();
    const streamed = await transport(`${url}/stream`, { method: 'POST', headers: {}, body: '{}' });
    const iterator = chunkIterator(streamed);
    while ((await iterator.next()).done !== true);
    // Stopping after the end (as a parser does) must not cost the connection.
    await iterator.return?.();
    await turn();
    await transport(`${url}/json`, { method: 'POST', headers: {}, body: '{}' }).then((response) => response.text());
    expect(ports).toHaveLength(3);
    expect(new Set(ports).size).toBe(1);
  });

  it('reads only as fast as the consumer: a reader that waits holds the upstream back', async () => {
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
    client = createHttpTransport({ proxyEnv: {} });
    const response = await client.transport(url, { method: 'GET', headers: {} });
    const iterator = chunkIterator(response);
    await iterator.next();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sent).toBeLessThan(total / 4);
    // Read on: the whole body arrives, every byte of it.
    let received = (await iterator.next()).value?.byteLength ?? 0;
    for (let result = await iterator.next(); result.done !== true; result = await iterator.next())
      received += result.value.byteLength;
    expect(received + 64 * 1024).toBeGreaterThanOrEqual(total);
  });

  it('rejects a read with the signal reason when aborted mid-body, and the upstream sees the connection close', async () => {
    let closed = false;
    const url = await serve((request, response) => {
      request.socket.once('close', () => {
        closed = true;
      });
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: one\n\n');
    });
    client = createHttpTransport({ proxyEnv: {} });
    const controller = new AbortController();
    const response = await client.transport(url, { method: 'GET', headers: {}, signal: controller.signal });
    const iterator = chunkIterator(response);
    await iterator.next();
    const reading = iterator.next();
    const reason = new Error('gone');
    controller.abort(reason);
    await expect(reading).rejects.toBe(reason);
    await waitFor(() => closed, 2000);
    expect(client.stats().inFlight).toBe(0);
  });

  it('rejects with the signal reason when aborted before the answer, or before the call', async () => {
    const url = await serve(() => undefined);
    client = createHttpTransport({ proxyEnv: {} });
    const controller = new AbortController();
    const pending = client.transport(url, { method: 'GET', headers: {}, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('gone')), 20);
    await expect(pending).rejects.toThrow('gone');
    await expect(
      client.transport(url, { method: 'GET', headers: {}, signal: AbortSignal.abort(new Error('early')) }),
    ).rejects.toThrow('early');
    await waitFor(() => client?.stats().inFlight === 0, 2000);
  });

  it('rejects with a TypeError carrying the network error, and no request header, when the connection fails', async () => {
    const port = await closedPort();
    client = createHttpTransport({ proxyEnv: {} });
    const failure: unknown = await client
      .transport(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer sk-secret-vendor-key' },
        body: '{}',
      })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TypeError);
    expect(Reflect.get(Object(Reflect.get(Object(failure), 'cause')), 'code')).toBe('ECONNREFUSED');
    expect(inspect(failure, { depth: 10, showHidden: true })).not.toContain('sk-secret-vendor-key');
  });

  it('fails the body when the upstream cuts the connection mid-body', async () => {
    const url = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: one\n\n', () => setTimeout(() => response.socket?.destroy(), 20));
    });
    client = createHttpTransport({ proxyEnv: {} });
    const response = await client.transport(url, { method: 'GET', headers: {} });
    await expect(response.text()).rejects.toBeInstanceOf(TypeError);
  });

  it('fails a connection not established within connectTimeoutMs, and counts it', async () => {
    // A TCP server that never speaks TLS: the TCP handshake completes, the TLS one never does.
    const accepted: Socket[] = [];
    const silent = createNetServer((socket) => accepted.push(socket));
    servers.push(silent);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    client = createHttpTransport({ connectTimeoutMs: 100, proxyEnv: {} });
    const error: unknown = await client
      .transport(`https://127.0.0.1:${portOf(silent)}/v1/models`, { method: 'GET', headers: {} })
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(error).toBeInstanceOf(TypeError);
    expect(Reflect.get(Object(Reflect.get(Object(error), 'cause')), 'code')).toBe('UND_ERR_CONNECT_TIMEOUT');
    expect(client.stats().connectTimeouts).toBe(1);
    for (const socket of accepted) socket.destroy();
  });

  it('sends a request once more when the upstream closes its reused keep-alive connection under it', async () => {
    const seen: Array<{ port: number; served: number }> = [];
    const servedBySocket = new Map<Socket, number>();
    const url = await serve((request, response) => {
      const served = servedBySocket.get(request.socket) ?? 0;
      servedBySocket.set(request.socket, served + 1);
      seen.push({ port: request.socket.remotePort ?? 0, served });
      request.resume();
      // The second request on a connection: close it without a byte of answer, as a server whose keep-alive timeout
      // has just run out does.
      if (served === 1) request.socket.destroy();
      else response.end('ok');
    });
    client = createHttpTransport({ proxyEnv: {} });
    const call = async (): Promise<string> =>
      (await client!.transport(url, { method: 'POST', headers: {}, body: '{}' })).text();
    expect(await call()).toBe('ok');
    // One event-loop turn: the connection is back in the pool (see the keep-alive test above).
    await new Promise((resolve) => setTimeout(resolve, 1));
    expect(await call()).toBe('ok');
    expect(seen.map((entry) => entry.served)).toEqual([0, 1, 0]);
    // The retry went out on a new connection.
    expect(seen[2]?.port).not.toBe(seen[1]?.port);
    expect(client.stats()).toMatchObject({ requests: 2, staleSocketRetries: 1, inFlight: 0 });
  });

  it('does not send again a request whose new connection was closed under it', async () => {
    let requests = 0;
    const url = await serve((request) => {
      requests += 1;
      request.socket.destroy();
    });
    client = createHttpTransport({ proxyEnv: {} });
    const failure: unknown = await client
      .transport(url, { method: 'POST', headers: {}, body: '{}' })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TypeError);
    expect(requests).toBe(1);
    expect(client.stats().staleSocketRetries).toBe(0);
  });
});

describe('connections per origin', () => {
  it('has no cap by default: 3,000 slow streams to one server are all open at once and all complete', async () => {
    const count = 3000;
    let open = 0;
    let peak = 0;
    const held: ServerResponse[] = [];
    const endAll = (): void => {
      for (const response of held.splice(0)) response.end('data: [DONE]\n\n');
    };
    // Each stream sends its first chunk at once and ends only when all of them are open (or after 30 s, so a cap
    // fails the assertion below instead of hanging the test).
    const fallback = setTimeout(endAll, 30_000);
    const url = await serve((request, response) => {
      request.resume();
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: {"n":1}\n\n');
      open += 1;
      peak = Math.max(peak, open);
      response.once('close', () => {
        open -= 1;
      });
      held.push(response);
      if (held.length === count) endAll();
    });
    client = createHttpTransport({ proxyEnv: {} });
    const transport = client.transport;
    const streams = Array.from({ length: count }, async () => {
      const response = await transport(`${url}/v1/chat/completions`, { method: 'POST', headers: {}, body: '{}' });
      return response.text();
    });
    const bodies = await Promise.all(streams);
    clearTimeout(fallback);
    expect(peak).toBe(count);
    expect(bodies.every((body) => body === 'data: {"n":1}\n\ndata: [DONE]\n\n')).toBe(true);
    expect(client.stats()).toMatchObject({ requests: count, inFlight: 0, waiting: 0, poolTimeouts: 0 });
  }, 60_000);

  it('with a cap, queues the overflow visibly and refuses what waited past poolTimeoutMs', async () => {
    const held: ServerResponse[] = [];
    const url = await serve((request, response) => {
      request.resume();
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: first\n\n');
      held.push(response);
    });
    client = createHttpTransport({ connections: 2, poolTimeoutMs: 100, proxyEnv: {} });
    const { transport } = client;
    const first = await transport(url, { method: 'GET', headers: {} });
    const second = await transport(url, { method: 'GET', headers: {} });
    const third = transport(url, { method: 'GET', headers: {} }).catch((error: unknown) => error);
    expect(client.stats()).toMatchObject({ inFlight: 2, waiting: 1 });
    const refused = await third;
    expect(isPoolTimeoutError(refused)).toBe(true);
    expect(refused).toMatchObject({ code: 'pool_timeout', retryable: true, origin: url });
    expect(client.stats()).toMatchObject({ requests: 3, inFlight: 2, waiting: 0, poolTimeouts: 1 });
    expect(held).toHaveLength(2);

    // A waiting request takes the connection the first one frees.
    const fourth = transport(url, { method: 'GET', headers: {} });
    expect(client.stats().waiting).toBe(1);
    held[0]?.end('data: end\n\n');
    expect(await first.text()).toBe('data: first\n\ndata: end\n\n');
    const answer = await fourth;
    expect(answer.status).toBe(200);
    expect(client.stats()).toMatchObject({ inFlight: 2, waiting: 0, poolTimeouts: 1 });
    for (const response of held) response.end();
    await Promise.all([second.text(), answer.text()]);
    expect(client.stats().inFlight).toBe(0);
  });

  it('lets a request leave the queue when its signal aborts', async () => {
    const url = await serve((request, response) => {
      request.resume();
      response.writeHead(200);
      response.write('x');
    });
    client = createHttpTransport({ connections: 1, proxyEnv: {} });
    await client.transport(url, { method: 'GET', headers: {} });
    const controller = new AbortController();
    const waiting = client.transport(url, { method: 'GET', headers: {}, signal: controller.signal });
    expect(client.stats().waiting).toBe(1);
    controller.abort(new Error('left'));
    await expect(waiting).rejects.toThrow('left');
    expect(client.stats()).toMatchObject({ waiting: 0, poolTimeouts: 0, inFlight: 1 });
  });
});

describe('proxy environment', () => {
  /** A CONNECT proxy on 127.0.0.1 that records the targets it tunnels to. */
  async function startConnectProxy(): Promise<{ url: string; targets: string[] }> {
    const targets: string[] = [];
    const proxy = createServer((_request, response) => {
      response.writeHead(405);
      response.end();
    });
    proxy.on('connect', (request: IncomingMessage, socket: Socket, head: Buffer) => {
      const target = request.url ?? '';
      targets.push(target);
      const separator = target.lastIndexOf(':');
      const upstream = connectTcp(Number(target.slice(separator + 1)), target.slice(0, separator), () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    servers.push(proxy);
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${portOf(proxy)}`, targets };
  }

  it('sends through HTTP_PROXY as a CONNECT tunnel, and straight to a host NO_PROXY names', async () => {
    const proxy = await startConnectProxy();
    const proxied = await serve((_request, response) => response.end('via proxy'));
    const direct = await serve((_request, response) => response.end('direct'));
    const directHost = new URL(direct).host;
    client = createHttpTransport({ proxyEnv: { HTTP_PROXY: proxy.url, NO_PROXY: `example.com, ${directHost}` } });
    const get = async (url: string): Promise<string> =>
      (await client!.transport(`${url}/v1/models`, { method: 'GET', headers: {} })).text();
    expect(await get(proxied)).toBe('via proxy');
    expect(await get(direct)).toBe('direct');
    expect(proxy.targets).toEqual([new URL(proxied).host]);
  });

  it('ignores the proxy variables when none is set', async () => {
    const proxy = await startConnectProxy();
    const url = await serve((_request, response) => response.end('direct'));
    client = createHttpTransport({ proxyEnv: { NO_PROXY: 'example.com' } });
    expect(await (await client.transport(url, { method: 'GET', headers: {} })).text()).toBe('direct');
    expect(proxy.targets).toEqual([]);
  });
});
