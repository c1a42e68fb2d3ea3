/**
 * The many-streams scenario's upstream: an OpenAI-compatible server whose every chat answer is a slow stream (the
 * role chunk at once, then BENCH_SLOW_CHUNKS one-word content chunks BENCH_SLOW_INTERVAL_MS apart, default 20 x
 * 1.5 s, then the finish chunk, the usage chunk and `data: [DONE]`). Prints the listening URL on stdout.
 *
 * Built for thousands of streams at once, which the stand-in (one timer per stream, every request recorded) cannot
 * serve on a shared 2-core machine without becoming what is measured: one interval writes the next chunk of every open
 * stream, the chunks are rendered once, and the listen backlog is the kernel's maximum, so a burst of new
 * connections waits in the accept queue instead of being reset.
 */
import http from 'node:http';

const chunks = Number(process.env.BENCH_SLOW_CHUNKS ?? 20);
const intervalMs = Number(process.env.BENCH_SLOW_INTERVAL_MS ?? 1500);
const created = Math.floor(Date.now() / 1000);
const line = (choices: unknown[], extra: Record<string, unknown> = {}): string =>
  `data: ${JSON.stringify({ id: 'chatcmpl-slow', object: 'chat.completion.chunk', created, model: 'bench-slow-model', choices, ...extra })}\n\n`;
const roleChunk = line([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]);
const contentChunks = Array.from({ length: chunks }, (_, index) =>
  line([{ index: 0, delta: { content: `word${index} ` }, finish_reason: null }]),
);
const lastChunks =
  line([{ index: 0, delta: {}, finish_reason: 'stop' }]) +
  line([], { usage: { prompt_tokens: 12, completion_tokens: chunks, total_tokens: 12 + chunks } }) +
  'data: [DONE]\n\n';

interface Stream {
  response: http.ServerResponse;
  sent: number;
}
const open = new Set<Stream>();

setInterval(() => {
  for (const stream of open) {
    if (stream.sent < chunks) {
      stream.response.write(contentChunks[stream.sent]);
      stream.sent += 1;
    } else {
      open.delete(stream);
      stream.response.end(lastChunks);
    }
  }
}, intervalMs);

const server = http.createServer((request, response) => {
  request.resume();
  request.once('end', () => {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    response.write(roleChunk);
    const stream: Stream = { response, sent: 0 };
    open.add(stream);
    response.once('close', () => open.delete(stream));
  });
});
server.keepAliveTimeout = 65_000;
server.listen({ port: 0, host: '127.0.0.1', backlog: 65_535 }, () => {
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`listening http://127.0.0.1:${address.port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
