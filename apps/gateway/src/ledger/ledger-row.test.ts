import { describe, expect, it } from 'vitest';
import { fromSpillLine, ledgerRowProblem, toSpillLine, type LedgerRow } from './ledger-row.ts';
import { ledgerRow } from './test-helpers.ts';

describe('ledgerRowProblem', () => {
  const base = ledgerRow();
  const cost = base.cost ?? {
    currency: 'USD',
    input: 0n,
    cachedInput: 0n,
    cacheWrite: 0n,
    output: 0n,
    reasoning: 0n,
    total: 0n,
  };
  const tokens = base.tokens;

  it.each<[string, Partial<LedgerRow>, string]>([
    ['an empty request id', { requestId: '' }, 'requestId must be a non-empty string'],
    ['an invalid date', { createdAt: new Date(Number.NaN) }, 'createdAt must be a date'],
    [
      'an unknown status',
      { status: 'done' as LedgerRow['status'] },
      'status must be one of completed, failed, cancelled',
    ],
    ['a status that is not HTTP', { httpStatus: 42 }, 'httpStatus must be null or an HTTP status'],
    ['a fractional latency', { latencyMs: 1.5 }, 'latencyMs must be an integer from 0 to 2147483647'],
    ['a negative ttft', { ttftMs: -1 }, 'ttftMs must be an integer from 0 to 2147483647'],
    [
      'tokens past a 32-bit column',
      { tokens: { ...tokens, output: 2 ** 31 } },
      'tokens.output must be an integer from 0 to 2147483647',
    ],
    ['a lower-case currency', { cost: { ...cost, currency: 'usd' } }, 'cost.currency must be three capital letters'],
    [
      'a negative amount',
      { cost: { ...cost, reasoning: -1n } },
      'cost.reasoning must be from 0 to 2^63-1 units of 10^-12',
    ],
    [
      'an amount past 64 bits',
      { cost: { ...cost, total: 2n ** 63n } },
      'cost.total must be from 0 to 2^63-1 units of 10^-12',
    ],
    ['a negative cost saved', { cacheHit: true, costSaved: -1n }, 'costSaved must be from 0 to 2^63-1 units of 10^-12'],
  ])('refuses %s', (_name, overrides, problem) => {
    expect(ledgerRowProblem({ ...base, ...overrides })).toBe(problem);
  });

  it('accepts a complete row, an unpriced one and the largest values the columns hold', () => {
    expect(ledgerRowProblem(base)).toBeUndefined();
    expect(ledgerRowProblem({ ...base, cost: null, httpStatus: null, ttftMs: null })).toBeUndefined();
    const big = 2n ** 63n - 1n;
    expect(ledgerRowProblem({ ...base, latencyMs: 2 ** 31 - 1, cost: { ...cost, total: big } })).toBeUndefined();
  });
});

describe('spill lines', () => {
  it('round-trips a row through one line of JSON, amounts as exact decimal text', () => {
    const row = ledgerRow({
      cost: {
        currency: 'USD',
        input: 2n ** 62n,
        cachedInput: 0n,
        cacheWrite: 0n,
        output: 1n,
        reasoning: 0n,
        total: 2n ** 62n + 1n,
      },
    });
    const line = toSpillLine(row);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(line).toContain('"total":"4611686018427387905"');
    expect(fromSpillLine(line)).toEqual(row);
  });

  it('round-trips a cache hit with the exact cost it saved', () => {
    const row = ledgerRow({ cacheHit: true, costSaved: 2n ** 62n + 3n });
    const line = toSpillLine(row);
    expect(line).toContain('"costSaved":"4611686018427387907"');
    expect(fromSpillLine(line)).toEqual(row);
  });
});
