import { describe, expect, it } from 'vitest';
import { isStreamIdleTimeoutError, StreamIdleTimeoutError } from './stream-idle-timeout-error.ts';

describe('StreamIdleTimeoutError', () => {
  it('carries idleMs and a name, and is recognised by the guard', () => {
    const error = new StreamIdleTimeoutError(250);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('StreamIdleTimeoutError');
    expect(error.idleMs).toBe(250);
    expect(isStreamIdleTimeoutError(error)).toBe(true);
  });

  it('is recognised by its marker, as a copy from a duplicate install would be', () => {
    const lookalike = Object.assign(new Error('other copy'), { [Symbol.for('gw.error.stream-idle-timeout')]: true });
    expect(isStreamIdleTimeoutError(lookalike)).toBe(true);
  });

  it('does not match other errors or non-errors', () => {
    expect(isStreamIdleTimeoutError(new Error('No stream item arrived within 250 ms'))).toBe(false);
    expect(isStreamIdleTimeoutError(undefined)).toBe(false);
    expect(isStreamIdleTimeoutError('StreamIdleTimeoutError')).toBe(false);
  });
});
