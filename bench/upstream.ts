/**
 * The benchmark's upstream: gw's OpenAI stand-in (@gw/providers/testing) answering every chat request with
 * a fixed short answer (JSON) or a 20-chunk stream. Prints the listening URL on stdout.
 */
import { startStandInUpstream } from '@gw/providers/testing';

const words = Array.from({ length: 20 }, (_, index) => `word${index}`).join(' ');
const upstream = await startStandInUpstream({
  defaultBehaviour: {
    type: 'chat',
    content: words,
    chunkWords: 1,
    usage: { prompt_tokens: 12, completion_tokens: 20 },
  },
});
process.stdout.write(`listening ${upstream.url}\n`);
process.on('SIGTERM', () => {
  void upstream.close().finally(() => process.exit(0));
});
