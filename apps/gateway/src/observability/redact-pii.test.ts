import { describe, expect, it } from 'vitest';
import { redactPii } from './redact-pii.ts';

describe('redactPii', () => {
  it.each([
    ['write to jane.doe+news@example.co.uk today', 'write to [email] today'],
    ['(bob@example.com)', '([email])'],
    ['card 4111 1111 1111 1111 expires', 'card [card] expires'],
    ['card 4111-1111-1111-1111.', 'card [card].'],
    ['4111111111111111', '[card]'],
    ['call +1 415-555-0123 now', 'call [phone] now'],
    ['call (020) 7946 0958.', 'call [phone].'],
    ['+442079460958', '[phone]'],
  ])('redacts %j', (input, expected) => {
    expect(redactPii(input)).toBe(expected);
  });

  it.each([
    'order 1234567890123456 failed', // 16 digits, not a Luhn number
    'in 2026 we sold 1500000 units',
    'version 1.2.3 of the api',
    'an @mention and a@b',
    'no numbers here at all',
  ])('keeps %j', (input) => {
    expect(redactPii(input)).toBe(input);
  });

  it('takes time linear in its input on adversarial text', () => {
    // Long runs that would make a backtracking pattern quadratic: they must simply come back (no wall-clock check).
    const digits = `+${'1 '.repeat(100_000)}x`;
    const at = `${'a'.repeat(100_000)}@`;
    expect(redactPii(digits).length).toBeGreaterThan(0);
    expect(redactPii(at)).toBe(at);
  });
});
