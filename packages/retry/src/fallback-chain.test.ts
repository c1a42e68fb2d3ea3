import { describe, expect, it, vi } from 'vitest';
import { FallbackChainError, createFallbackChain, isFallbackChainError } from './fallback-chain.ts';

function httpError(status: number, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`HTTP ${status}`), { status }, extra);
}

describe('createFallbackChain', () => {
  it('tries the steps in order and returns the first success', async () => {
    const order: number[] = [];
    const onFallback = vi.fn();
    const chain = createFallbackChain(
      [
        ({ index }) => {
          order.push(index);
          throw httpError(503);
        },
        ({ index }) => {
          order.push(index);
          return 'backup';
        },
        ({ index }) => {
          order.push(index);
          return 'never';
        },
      ],
      { onFallback },
    );
    await expect(chain.execute()).resolves.toBe('backup');
    expect(order).toEqual([0, 1]);
    expect(onFallback).toHaveBeenCalledTimes(1);
  });

  it('rejects with every error in order when all steps fail, shaped like the last one', async () => {
    const errors = [httpError(503), httpError(429, { kind: 'rate_limit', retryAfterMs: 2000 })];
    const chain = createFallbackChain(
      errors.map((error) => () => {
        throw error;
      }),
    );
    const rejection = await chain.execute().catch((error: unknown) => error);
    expect(isFallbackChainError(rejection)).toBe(true);
    expect(rejection).toBeInstanceOf(FallbackChainError);
    expect(rejection).toBeInstanceOf(AggregateError);
    expect(rejection).toMatchObject({ errors, status: 429, kind: 'rate_limit', retryAfterMs: 2000, cause: errors[1] });
  });

  it('stops at an error that shouldFallback rejects', async () => {
    const second = vi.fn(() => 'backup');
    const badRequest = httpError(400);
    const chain = createFallbackChain(
      [
        () => {
          throw badRequest;
        },
        second,
      ],
      { shouldFallback: (error) => error !== badRequest },
    );
    await expect(chain.execute()).rejects.toBe(badRequest);
    expect(second).not.toHaveBeenCalled();
  });

  it('never falls back after a cancellation, and rejects with the abort reason', async () => {
    const controller = new AbortController();
    const second = vi.fn(() => 'backup');
    const chain = createFallbackChain([
      () => {
        controller.abort(new Error('client left'));
        throw new DOMException('aborted', 'AbortError');
      },
      second,
    ]);
    await expect(chain.execute({ signal: controller.signal })).rejects.toThrow('client left');
    expect(second).not.toHaveBeenCalled();
  });

  it('does not fall back on an AbortError by default', async () => {
    const abortError = new DOMException('aborted', 'AbortError');
    const second = vi.fn(() => 'backup');
    const chain = createFallbackChain([
      () => {
        throw abortError;
      },
      second,
    ]);
    await expect(chain.execute()).rejects.toBe(abortError);
    expect(second).not.toHaveBeenCalled();
  });

  it('refuses an empty chain', () => {
    expect(() => createFallbackChain([])).toThrow(RangeError);
  });
});
