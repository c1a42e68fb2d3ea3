/** The streamed answers in progress, so a drain that runs out of time can end them properly. */
export interface OpenStreams {
  /** Registers a stream by what ends it (its upstream call's abort); returns the function that unregisters it. */
  add(end: (reason: unknown) => void): () => void;
  /** How many are open. */
  count(): number;
  /** Ends every open stream with `reason` (each then closes with an error event); returns how many there were. */
  endAll(reason: unknown): number;
}

/**
 * A registry of the streams in progress: cheap to join and leave (a Set), read only when the gateway shuts down.
 *
 * @example
 * const streams = createOpenStreams();
 * const leave = streams.add((reason) => upstreamCall.abort(reason));
 * // …when the stream is settled: leave();
 */
export function createOpenStreams(): OpenStreams {
  const open = new Set<(reason: unknown) => void>();
  return {
    add(end) {
      open.add(end);
      return () => void open.delete(end);
    },
    count: () => open.size,
    endAll(reason) {
      const ending = [...open];
      open.clear();
      for (const end of ending) end(reason);
      return ending.length;
    },
  };
}
