// The body of an answer from the HTTP transport, as the adapters read it: an async iterable of byte chunks that the
// connection pushes into. A lighter reader than a Node Readable or a web stream (the stream parsers take any async
// iterable of bytes): one object per answer, no promise per chunk while chunks are waiting, and backpressure through
// the callbacks the connection hands in.

// Chunks that may wait unread before the connection is paused: enough to ride over a burst, little enough that a
// reader that stops reading holds the upstream back (64 KiB reads: about 1 MiB).
const QUEUED_CHUNKS = 16;

/** What a {@link ResponseChunks} needs from the connection it reads. */
export interface ChunkSource {
  /** Stop reading from the socket (the queue is full). */
  pause(): void;
  /** Read again (the reader has taken chunks). */
  resume(): void;
  /** The reader stopped before the end: tear the request down. */
  cancel(): void;
}

/**
 * The chunks of one answer, in order: pushed by the connection, taken by one reader. Reading starts at once, as
 * `fetch` does, so a short body nobody reads still ends and frees its connection; chunks wait in a queue, and the
 * source is paused while 16 are waiting and resumed as they are taken. `fail()` makes the next read reject (a cut
 * connection, the caller's abort); `return()` before the end cancels the request, after it frees nothing more. One
 * iteration only, like a response body.
 */
export class ResponseChunks implements AsyncIterableIterator<Uint8Array> {
  #queue: Uint8Array[] = [];
  #head = 0;
  #ended = false;
  #failure: unknown = undefined;
  #failed = false;
  #paused = false;
  #wake: (() => void) | undefined;
  readonly #source: ChunkSource;

  constructor(source: ChunkSource) {
    this.#source = source;
  }

  /** A chunk from the connection. */
  push(chunk: Uint8Array): void {
    // An empty chunk carries nothing; queued, it would count against the queue's limit (undici's parser hands one
    // when it resumes after a pause).
    if (this.#ended || this.#failed || chunk.byteLength === 0) return;
    this.#queue.push(chunk);
    if (!this.#paused && this.#queue.length - this.#head >= QUEUED_CHUNKS) {
      this.#paused = true;
      this.#source.pause();
    }
    this.#notify();
  }

  /** The answer is complete. */
  end(): void {
    this.#ended = true;
    this.#notify();
  }

  /** The answer will not complete: the next read rejects with `error` (the first one given wins). */
  fail(error: unknown): void {
    if (this.#ended || this.#failed) return;
    this.#failed = true;
    this.#failure = error;
    this.#notify();
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    for (;;) {
      const chunk = this.#queue[this.#head];
      if (chunk !== undefined) {
        this.#head += 1;
        if (this.#head === this.#queue.length) {
          this.#queue.length = 0;
          this.#head = 0;
        }
        if (this.#paused && this.#queue.length - this.#head < QUEUED_CHUNKS) {
          this.#paused = false;
          this.#source.resume();
        }
        return { done: false, value: chunk };
      }
      if (this.#failed) throw this.#failure;
      if (this.#ended) return { done: true, value: undefined };
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    const complete = this.#ended || this.#failed;
    this.#ended = true;
    this.#queue.length = 0;
    this.#head = 0;
    if (!complete) this.#source.cancel();
    this.#notify();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array> {
    return this;
  }

  /** The whole body as UTF-8 text (one chunk is decoded without a copy). */
  async text(): Promise<string> {
    const chunks: Uint8Array[] = [];
    for (;;) {
      const result = await this.next();
      if (result.done === true) break;
      chunks.push(result.value);
    }
    if (chunks.length === 1)
      return Buffer.from(chunks[0]!.buffer, chunks[0]!.byteOffset, chunks[0]!.byteLength).toString();
    return Buffer.concat(chunks).toString();
  }

  #notify(): void {
    const waiting = this.#wake;
    this.#wake = undefined;
    waiting?.();
  }
}
