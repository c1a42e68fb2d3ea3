import { describe, expect, it } from 'vitest';
import { CostError, isCostError } from './cost-error.ts';

describe('CostError', () => {
  it('carries its kind and is recognised by the guard', () => {
    const error = new CostError('unknown_currency', 'no exchange rate for EUR');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('CostError');
    expect(error.kind).toBe('unknown_currency');
    expect(isCostError(error)).toBe(true);
  });

  it('recognises an error from another copy of the package by its Symbol.for marker', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('gw.error.cost')]: true, kind: 'invalid_rate' });
    expect(isCostError(foreign)).toBe(true);
    expect(isCostError(new Error('plain'))).toBe(false);
    expect(isCostError({ kind: 'invalid_rate' })).toBe(false);
    expect(isCostError(null)).toBe(false);
  });

  it('keeps the cause', () => {
    const cause = new Error('ENOENT');
    expect(new CostError('import_failed', 'cannot read', { cause }).cause).toBe(cause);
  });
});
