import { readerOf } from './body-reader.ts';
import type { TransportBody } from './transport.ts';

/** Why {@link readBodyText} stopped reading before the end. */
export type BodyReadStop = 'too_large' | 'idle';

/** Thrown by {@link readBodyText}: the body was cancelled (its connection closed) and what was read dropped. */
export class BodyReadStopped extends Error {
  override readonly name = 'BodyReadStopped';
  readonly reason: BodyReadStop;

  constructor(reason: BodyReadStop) {
    super(reason === 'too_large' ? 'The body is larger than its limit' : 'The body paused longer than its limit');
    this.reason = reason;
  }
}

/** The limits of one {@link readBodyText}. */
export interface BodyTextLimits {
  /** Most bytes read; one more and reading stops. */
  maxBytes: number;
  /** Longest wait for the next piece of the body; none when undefined. */
  idleMs: number | undefined;
}

function decode(chunks: readonly Uint8Array[], length: number): string {
  if (chunks.length === 1) {
    // One network read (the common case for a JSON answer): decoded without a copy.
    const only = chunks[0]!;
    return Buffer.from(only.buffer, only.byteOffset, only.byteLength).toString();
  }
  return Buffer.concat(chunks, length).toString();
}

/**
 * The whole of a body as UTF-8 text, read within limits: past `maxBytes`, or after a pause longer than `idleMs`, the
 * body is cancelled, what was read is let go, and {@link BodyReadStopped} is thrown. Other read failures (a cut
 * connection, the caller's abort) are thrown as they come.
 *
 * @example
 * const text = await readBodyText(response.body, { maxBytes: 64 * 1024 * 1024, idleMs: 120_000 });
 */
export async function readBodyText(body: TransportBody, limits: BodyTextLimits): Promise<string> {
  const reader = readerOf(body);
  const chunks: Uint8Array[] = [];
  let length = 0;
  let idle = false;
  // One timer per body, pushed back with each piece, rather than one per read.
  const timer =
    limits.idleMs === undefined
      ? undefined
      : setTimeout(() => {
          idle = true;
          // Ends the pending read (done, or rejected); the flag says why.
          void reader.cancel().catch(() => undefined);
        }, limits.idleMs);
  try {
    for (;;) {
      let read: IteratorResult<Uint8Array>;
      try {
        read = await reader.read();
      } catch (error) {
        if (idle) throw new BodyReadStopped('idle');
        throw error;
      }
      if (idle) throw new BodyReadStopped('idle');
      if (read.done === true) return decode(chunks, length);
      length += read.value.byteLength;
      if (length > limits.maxBytes) {
        chunks.length = 0;
        await reader.cancel().catch(() => undefined);
        throw new BodyReadStopped('too_large');
      }
      chunks.push(read.value);
      timer?.refresh();
    }
  } finally {
    clearTimeout(timer);
  }
}
