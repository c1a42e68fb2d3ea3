/**
 * The benchmark's upstream: gw's OpenAI stand-in (@gw/providers/testing) answering every chat request with
 * a fixed short answer (JSON) or a 20-chunk stream, and requests for the model `bench-slow-model` with a slow stream
 * (BENCH_SLOW_CHUNKS words, default 40, one chunk each, BENCH_SLOW_INTERVAL_MS apart, default 500). Prints the
 * listening URL on stdout.
 */
import { startStandInUpstream } from '@gw/providers/testing';
import type { StandInBehaviour } from '@gw/providers/testing';

const words = (count: number): string => Array.from({ length: count }, (_, index) => `word${index}`).join(' ');
const fast: StandInBehaviour = {
  type: 'chat',
  content: words(20),
  chunkWords: 1,
  usage: { prompt_tokens: 12, completion_tokens: 20 },
};
const slowChunks = Number(process.env.BENCH_SLOW_CHUNKS ?? 40);
const slow: StandInBehaviour = {
  type: 'chat',
  content: words(slowChunks),
  chunkWords: 1,
  chunkDelayMs: Number(process.env.BENCH_SLOW_INTERVAL_MS ?? 500),
  usage: { prompt_tokens: 12, completion_tokens: slowChunks },
};
const upstream = await startStandInUpstream({ defaultBehaviour: fast });
upstream.setDefault((request) =>
  typeof request.body === 'object' && request.body !== null && Reflect.get(request.body, 'model') === 'bench-slow-model'
    ? slow
    : fast,
);
// The stand-in records every request; a benchmark sends millions.
setInterval(() => upstream.reset(), 5_000).unref();
process.stdout.write(`listening ${upstream.url}\n`);
process.on('SIGTERM', () => {
  void upstream.close().finally(() => process.exit(0));
});
