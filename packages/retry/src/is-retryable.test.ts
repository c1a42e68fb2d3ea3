import { describe, expect, it } from 'vitest';
import { isRetryable } from './is-retryable.ts';

describe('isRetryable', () => {
  it.each([408, 409, 429, 500, 502, 503, 504, 529])('retries status %i', (status) => {
    expect(isRetryable({ status })).toBe(true);
  });

  it.each([400, 401, 403, 404, 413, 422])('does not retry status %i', (status) => {
    expect(isRetryable({ status })).toBe(false);
  });

  it.each(['rate_limit', 'overloaded', 'server', 'timeout', 'connection'])('retries kind %s', (kind) => {
    expect(isRetryable({ kind, status: 400 })).toBe(true);
  });

  it.each([
    'invalid_request',
    'authentication',
    'permission',
    'not_found',
    'context_window',
    'content_filter',
    'quota',
    'cancelled',
  ])('never retries kind %s, whatever the status', (kind) => {
    expect(isRetryable({ kind, status: 503 })).toBe(false);
  });

  it('lets a boolean retryable win over kind and status', () => {
    expect(isRetryable({ retryable: false, kind: 'server', status: 503 })).toBe(false);
    expect(isRetryable({ retryable: true, kind: 'invalid_request', status: 400 })).toBe(true);
  });

  it('ignores fields of the wrong type', () => {
    expect(isRetryable({ retryable: 'no', status: '400' })).toBe(true);
  });

  it('falls through to the status for a kind it does not know', () => {
    expect(isRetryable({ kind: 'teapot', status: 418 })).toBe(false);
    expect(isRetryable({ kind: 'teapot' })).toBe(true);
  });

  it('never retries an AbortError', () => {
    expect(isRetryable(new DOMException('The operation was aborted', 'AbortError'))).toBe(false);
    expect(isRetryable(AbortSignal.abort().reason)).toBe(false);
  });

  it('retries a plain network failure and non-errors', () => {
    expect(isRetryable(new TypeError('fetch failed'))).toBe(true);
    expect(isRetryable('boom')).toBe(true);
    expect(isRetryable(undefined)).toBe(true);
  });
});
