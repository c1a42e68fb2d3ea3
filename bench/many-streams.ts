/**
 * The many-streams scenario's load generator: `streams` streamed chat requests held open at once through one gateway
 * to one upstream host, each a slow stream (see upstream.ts). Counts those that completed (HTTP 200, every chunk, the
 * final `data: [DONE]`) and those that did not, with why.
 *
 * node:http with a socket per request (no pool, no cap): at ~10k chunks/s for 5,000 streams the generator uses a
 * small share of one core, so it is not what limits the gateway (the bench prints its own CPU time beside the
 * gateway's to show it).
 */
import http from 'node:http';

/** What {@link runManyStreams} measured. */
export interface ManyStreamsResult {
  completed: number;
  errored: number;
  /** From the first request sent to the last stream over. */
  durationMs: number;
  /** The most streams open at once on the generator's side. */
  peakOpen: number;
  /** Why streams failed, with counts. */
  reasons: Map<string, number>;
}

/** Options of {@link runManyStreams}. */
export interface ManyStreamsOptions {
  url: string;
  masterKey: string;
  model: string;
  streams: number;
  /** A stream not over this long after it was sent counts as failed ("timed out"). */
  timeoutMs: number;
  /**
   * Streams are opened evenly over this long, in batches 100 ms apart (default 10 s: 500 a second for 5,000), so that
   * the gateway's accept queue (511 connections) does not overflow on a machine whose cores it shares (an overflow
   * resets the connection). Keep it under a stream's duration, so that they are all open at once.
   */
  rampMs?: number;
}

/**
 * Runs the scenario and resolves once every stream is over.
 *
 * @example
 * const result = await runManyStreams({ url, masterKey, model: 'bench', streams: 5000, timeoutMs: 60_000 });
 */
export async function runManyStreams(options: ManyStreamsOptions): Promise<ManyStreamsResult> {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const target = new URL('/v1/chat/completions', options.url);
  const body = JSON.stringify({
    model: options.model,
    stream: true,
    messages: [{ role: 'user', content: 'Say forty words, slowly.' }],
  });
  const reasons = new Map<string, number>();
  let open = 0;
  let peakOpen = 0;
  let completed = 0;
  const fail = (reason: string): void => {
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  };

  const one = (): Promise<void> =>
    new Promise<void>((resolve) => {
      let settled = false;
      const settle = (reason?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        open -= 1;
        if (reason === undefined) completed += 1;
        else fail(reason);
        resolve();
      };
      open += 1;
      peakOpen = Math.max(peakOpen, open);
      const request = http.request(
        target,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: `Bearer ${options.masterKey}`,
          },
        },
        (response) => {
          let tail = '';
          response.setEncoding('utf8');
          response.on('data', (text: string) => {
            tail = (tail + text).slice(-64);
          });
          response.on('end', () => {
            if (response.statusCode !== 200) settle(`HTTP ${response.statusCode}`);
            else if (!tail.endsWith('data: [DONE]\n\n')) settle('ended without [DONE]');
            else settle();
          });
          response.on('error', (error) => settle(`response: ${error.message}`));
        },
      );
      const deadline = setTimeout(() => {
        settle('timed out');
        request.destroy();
      }, options.timeoutMs);
      request.on('error', (error: NodeJS.ErrnoException) => settle(`request: ${error.code ?? error.message}`));
      request.end(body);
    });

  const started = performance.now();
  const all: Array<Promise<void>> = [];
  const batch = Math.max(1, Math.ceil(options.streams / Math.max(1, (options.rampMs ?? 10_000) / 100)));
  for (let sent = 0; sent < options.streams; sent += batch) {
    for (let index = sent; index < Math.min(options.streams, sent + batch); index += 1) all.push(one());
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await Promise.all(all);
  agent.destroy();
  return {
    completed,
    errored: options.streams - completed,
    durationMs: performance.now() - started,
    peakOpen,
    reasons,
  };
}
