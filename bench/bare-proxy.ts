/**
 * The floor for any Node proxy: node:http in, node:http out through a keep-alive agent, bodies piped,
 * nothing parsed. The gateway is measured against this on the same upstream.
 * Usage: node bare-proxy.ts <upstream-url>   (prints the listening URL on stdout)
 */
import http from 'node:http';

const upstream = new URL(process.argv[2] ?? 'http://127.0.0.1:8000');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });

const server = http.createServer((request, response) => {
  const upstreamRequest = http.request(
    {
      host: upstream.hostname,
      port: upstream.port,
      method: request.method,
      path: request.url,
      headers: request.headers,
      agent,
    },
    (upstreamResponse) => {
      response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
      upstreamResponse.pipe(response);
    },
  );
  upstreamRequest.on('error', () => {
    if (!response.headersSent) response.writeHead(502);
    response.end();
  });
  request.pipe(upstreamRequest);
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`listening http://127.0.0.1:${address.port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
