import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCostError } from './cost-error.ts';
import {
  addMoney,
  compareMoney,
  formatMoney,
  money,
  moneyToNumber,
  subtractMoney,
  sumMoney,
  zeroMoney,
} from './money.ts';

describe('money', () => {
  it('reads decimal text exactly, where binary floats drift', () => {
    const tenth = money('0.1', 'USD');
    const sum = addMoney(addMoney(tenth, tenth), tenth);
    expect(formatMoney(sum)).toBe('0.3');
    expect(0.1 + 0.1 + 0.1).not.toBe(0.3); // what the library avoids
    expect(compareMoney(sum, money(0.3, 'USD'))).toBe(0);
  });

  it('adds, subtracts and compares exactly, negatives included', () => {
    const budget = money('10', 'USD');
    const spent = money('10.000000000001', 'USD');
    const left = subtractMoney(budget, spent);
    expect(formatMoney(left)).toBe('-0.000000000001');
    expect(compareMoney(left, zeroMoney('USD'))).toBe(-1);
    expect(compareMoney(spent, budget)).toBe(1);
  });

  it('refuses to mix currencies with a typed error', () => {
    const attempt = (): unknown => addMoney(money(1, 'USD'), money(1, 'CNY'));
    expect(attempt).toThrow(/cannot add USD and CNY/);
    try {
      attempt();
    } catch (error) {
      expect(isCostError(error) && error.kind).toBe('currency_mismatch');
    }
    expect(() => compareMoney(money(1, 'USD'), money(1, 'CNY'))).toThrow(/compare/);
  });

  it('refuses amounts with more than 12 decimals and malformed currencies', () => {
    expect(() => money('0.0000000000001', 'USD')).toThrow(/at most 12 decimals/);
    expect(() => money('abc', 'USD')).toThrow(/at most 12 decimals/);
    expect(() => money(Number.NaN, 'USD')).toThrow(/at most 12 decimals/);
    expect(() => money(1, 'usd')).toThrow(/ISO 4217/);
  });

  it('formats for display: exact by default, rounded half to even with decimals', () => {
    expect(formatMoney(money('0.000125', 'USD'))).toBe('0.000125');
    expect(formatMoney(money('12', 'USD'))).toBe('12');
    expect(formatMoney(money('0.125', 'USD'), { decimals: 2 })).toBe('0.12');
    expect(formatMoney(money('0.135', 'USD'), { decimals: 2 })).toBe('0.14');
    expect(formatMoney(money('-1.5', 'USD'), { decimals: 0 })).toBe('-2');
    expect(formatMoney(money('3', 'CNY'), { decimals: 2 })).toBe('3.00');
  });

  it('turns amounts into JS numbers for JSON', () => {
    expect(moneyToNumber(money('0.000285', 'USD'))).toBe(0.000285);
    expect(moneyToNumber(money('123456.789', 'USD'))).toBe(123456.789);
    expect(moneyToNumber(money('-2.5', 'CNY'))).toBe(-2.5);
  });

  it('sums a list, and an empty list is zero of the named currency', () => {
    expect(sumMoney([], 'CNY')).toEqual({ amount: 0n, currency: 'CNY' });
    expect(formatMoney(sumMoney([money('1.1', 'CNY'), money('2.2', 'CNY')], 'CNY'))).toBe('3.3');
  });

  it('is associative and commutative for any amounts (property)', () => {
    const amount = fc
      .bigInt({ min: -(10n ** 20n), max: 10n ** 20n })
      .map((value) => ({ amount: value, currency: 'USD' }));
    fc.assert(
      fc.property(amount, amount, amount, (a, b, c) => {
        expect(addMoney(addMoney(a, b), c)).toEqual(addMoney(a, addMoney(b, c)));
        expect(addMoney(a, b)).toEqual(addMoney(b, a));
        expect(subtractMoney(addMoney(a, b), b)).toEqual(a);
      }),
    );
  });
});
