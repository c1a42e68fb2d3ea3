import { describe, expect, it } from 'vitest';
import { isProviderError, ProviderError } from './provider-error.ts';
import type { ProviderErrorKind } from './provider-error.ts';

describe('ProviderError', () => {
  it.each<[ProviderErrorKind, boolean]>([
    ['rate_limit', true],
    ['overloaded', true],
    ['server', true],
    ['timeout', true],
    ['connection', true],
    ['quota', false],
    ['authentication', false],
    ['invalid_request', false],
    ['context_window', false],
    ['cancelled', false],
  ])('defaults retryable for %s to %s', (kind, retryable) => {
    expect(new ProviderError({ kind, message: 'x' }).retryable).toBe(retryable);
  });

  it('lets the thrower override retryable and carries every field', () => {
    const cause = new Error('root');
    const error = new ProviderError({
      kind: 'server',
      message: 'bad shape',
      retryable: false,
      status: 500,
      retryAfterMs: 10,
      provider: 'p',
      model: 'm',
      code: 'c',
      param: 'x',
      type: 't',
      cause,
    });
    expect(error).toMatchObject({ kind: 'server', retryable: false, status: 500, retryAfterMs: 10, provider: 'p' });
    expect(error.cause).toBe(cause);
    expect(error.name).toBe('ProviderError');
    expect(error).toBeInstanceOf(Error);
  });
});

describe('isProviderError', () => {
  it('recognises ProviderError, also from another copy of the package, and nothing else', () => {
    expect(isProviderError(new ProviderError({ kind: 'timeout', message: 'x' }))).toBe(true);
    const fromAnotherCopy = Object.assign(new Error('x'), { [Symbol.for('gw.error.provider')]: true });
    expect(isProviderError(fromAnotherCopy)).toBe(true);
    expect(isProviderError(new Error('x'))).toBe(false);
    expect(isProviderError({ kind: 'timeout' })).toBe(false);
    expect(isProviderError(undefined)).toBe(false);
  });
});
