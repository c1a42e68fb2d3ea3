import type { ChatCompletionChunk, Usage } from '@gw/providers';
import { sseData } from '@gw/test-kit';
import { openAIChunkEncoder } from '@gw/providers/formats';
import type { BufferedAsyncIterator } from '@gw/stream';
import { describe, expect, it } from 'vitest';
import type { OutcomeStatus } from '../settle/settle-once.ts';
import { relayChunks } from './relay-chunks.ts';

function chunk(content: string): ChatCompletionChunk {
  return { id: 'c', choices: [{ index: 0, delta: { content } }] };
}

/**
 * An upstream whose chunks come in network reads: the first chunk of a read by next() (a timer after the read
 * before), the rest of that read at hand through takeBuffered(), as the providers' stream parsers offer them.
 */
function upstreamOf(reads: string[][], failAtEnd?: Error): BufferedAsyncIterator<ChatCompletionChunk> {
  const queue = reads.map((read) => read.map(chunk));
  let current: ChatCompletionChunk[] = [];
  const iterator: BufferedAsyncIterator<ChatCompletionChunk> = {
    async next() {
      if (current.length === 0 && queue.length > 0) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        current = queue.shift() ?? [];
      }
      const value = current.shift();
      if (value !== undefined) return { done: false, value };
      if (failAtEnd !== undefined) throw failAtEnd;
      return { done: true, value: undefined };
    },
    takeBuffered: () => current.shift(),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

async function relay(
  reads: string[][],
  options: { failAtEnd?: Error; includeUsage?: boolean } = {},
): Promise<{ writes: string[]; error: unknown; settled: OutcomeStatus[] }> {
  const upstream = upstreamOf(reads, options.failAtEnd);
  const first = await upstream.next();
  const settled: OutcomeStatus[] = [];
  const relayed = relayChunks(upstream, first, {
    encoder: openAIChunkEncoder({ includeUsage: options.includeUsage ?? false }),
    settle: (input) => {
      settled.push(input.status);
      return undefined;
    },
    signal: new AbortController().signal,
    cancelUpstream: () => undefined,
  });
  const writes: string[] = [];
  try {
    // Not for-await: the last text comes as the value of the done result.
    for (;;) {
      const result = await relayed.next();
      if (result.value !== undefined) writes.push(result.value);
      if (result.done === true) break;
    }
  } catch (error) {
    return { writes, error, settled };
  }
  return { writes, error: undefined, settled };
}

const line = (content: string): string => `data: ${JSON.stringify(chunk(content))}\n\n`;

describe('relayChunks', () => {
  it('joins the chunks of one upstream read into one write, and ends with [DONE] as the done value', async () => {
    const { writes, settled } = await relay([['a', 'b', 'c'], ['d'], ['e', 'f']]);
    expect(writes).toEqual([line('a') + line('b') + line('c'), line('d'), line('e') + line('f'), 'data: [DONE]\n\n']);
    expect(settled).toEqual(['completed']);
  });

  it('writes what came before a failure, then fails', async () => {
    const failure = new Error('cut');
    const { writes, error, settled } = await relay([['a', 'b']], { failAtEnd: failure });
    expect(writes).toEqual([line('a') + line('b')]);
    expect(error).toBe(failure);
    expect(settled).toEqual(['failed']);
  });

  it('settles a client that leaves as cancelled, once, and tears the upstream down', async () => {
    const upstream = upstreamOf([['a'], ['b']]);
    const first = await upstream.next();
    const settled: OutcomeStatus[] = [];
    let cancelled = 0;
    const relayed = relayChunks(upstream, first, {
      encoder: openAIChunkEncoder({ includeUsage: false }),
      settle: (input) => {
        settled.push(input.status);
        return undefined;
      },
      signal: new AbortController().signal,
      cancelUpstream: () => void (cancelled += 1),
    });
    expect(await relayed.next()).toEqual({ done: false, value: line('a') });
    await relayed.return?.();
    await relayed.return?.();
    expect(await relayed.next()).toEqual({ done: true, value: undefined });
    expect(settled).toEqual(['cancelled']);
    expect(cancelled).toBe(1);
  });

  it('writes the cost into the usage the client sees, leaving the upstream chunk and its usage as they were', async () => {
    const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 };
    const usageChunk: ChatCompletionChunk = { id: 'c', choices: [], usage };
    const upstream = [usageChunk][Symbol.iterator]();
    const settled: Array<Usage | undefined> = [];
    const relayed = relayChunks(
      { next: async () => upstream.next() },
      { done: false, value: chunk('a') },
      {
        encoder: openAIChunkEncoder({ includeUsage: true }),
        settle: (input) => void settled.push(input.usage),
        signal: new AbortController().signal,
        cancelUpstream: () => undefined,
        costOf: (reported) => reported.total_tokens * 0.5,
      },
    );
    const writes: string[] = [];
    for (let result = await relayed.next(); ; result = await relayed.next()) {
      if (result.value !== undefined) writes.push(result.value);
      if (result.done === true) break;
    }
    expect(sseData(writes.join(''))).toEqual([
      JSON.stringify(chunk('a')),
      JSON.stringify({ ...usageChunk, usage: { ...usage, cost: 2.5 } }),
      '[DONE]',
    ]);
    expect(usageChunk).toEqual({
      id: 'c',
      choices: [],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
    });
    expect(settled).toEqual([usage]);
  });
});
