import { describe, expect, it } from 'vitest';
import { convert } from './convert.ts';
import { isCostError } from './cost-error.ts';
import { formatMoney, money } from './money.ts';

const rates = { base: 'USD', rates: { CNY: 7.1, EUR: '0.92' } };

function kindOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isCostError(error) ? error.kind : 'not a CostError';
  }
  return undefined;
}

describe('convert', () => {
  it('converts from the reporting currency by multiplying with the rate', () => {
    expect(formatMoney(convert(money('1', 'USD'), 'CNY', rates))).toBe('7.1');
    expect(convert(money('1', 'USD'), 'CNY', rates).currency).toBe('CNY');
  });

  it('converts into the reporting currency by dividing, exactly where the division is exact', () => {
    expect(formatMoney(convert(money('71', 'CNY'), 'USD', rates))).toBe('10');
    // 1 / 7.1 has no finite decimal: rounded once, half to even, to 10^-12.
    expect(formatMoney(convert(money('1', 'CNY'), 'USD', rates))).toBe('0.140845070423');
  });

  it('converts between two other currencies through the reporting one with a single rounding', () => {
    // 7.1 CNY = 1 USD = 0.92 EUR
    expect(formatMoney(convert(money('7.1', 'CNY'), 'EUR', rates))).toBe('0.92');
  });

  it('returns the amount unchanged for the same currency', () => {
    const amount = money('3.5', 'CNY');
    expect(convert(amount, 'CNY', rates)).toBe(amount);
  });

  it('refuses an unknown currency with a typed error instead of NaN', () => {
    expect(kindOf(() => convert(money('1', 'JPY'), 'USD', rates))).toBe('unknown_currency');
    expect(kindOf(() => convert(money('1', 'USD'), 'JPY', rates))).toBe('unknown_currency');
    expect(() => convert(money('1', 'USD'), 'JPY', rates)).toThrow(
      /no exchange rate for JPY; the rates know USD, CNY, EUR/,
    );
  });

  it('refuses rates that are not positive decimals', () => {
    expect(kindOf(() => convert(money('1', 'USD'), 'CNY', { base: 'USD', rates: { CNY: 0 } }))).toBe('invalid_rate');
    expect(kindOf(() => convert(money('1', 'USD'), 'CNY', { base: 'USD', rates: { CNY: 'seven' } }))).toBe(
      'invalid_rate',
    );
    expect(kindOf(() => convert(money('1', 'USD'), 'CNY', { base: 'USD', rates: { CNY: Number.NaN } }))).toBe(
      'invalid_rate',
    );
  });

  it('does not read inherited properties as rates', () => {
    expect(kindOf(() => convert(money('1', 'USD'), 'TOS', { base: 'USD', rates: {} }))).toBe('unknown_currency');
  });
});
