import { describe, expect, it } from 'vitest';
import { createSecretBox, isSecretBoxError } from './secret-box.ts';

const KEY = 'secret-box-test-key-0123456789abcdef';

function refusal(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('secret box', () => {
  it('opens what it sealed, and seals the same text differently each time', () => {
    const box = createSecretBox(KEY);
    const sealed = box.seal('sk-vendor-key', 'eu');
    expect(sealed).toMatch(/^v1:[\w-]+$/);
    expect(sealed).not.toContain('sk-vendor-key');
    expect(box.seal('sk-vendor-key', 'eu')).not.toBe(sealed);
    expect(box.open(sealed, 'eu')).toBe('sk-vendor-key');
  });

  it('refuses a value of another row, of another key, or altered', () => {
    const sealed = createSecretBox(KEY).seal('sk-vendor-key', 'eu');
    expect(isSecretBoxError(refusal(() => createSecretBox(KEY).open(sealed, 'us')))).toBe(true);
    expect(isSecretBoxError(refusal(() => createSecretBox(`${KEY}!`).open(sealed, 'eu')))).toBe(true);
    const altered = `${sealed.slice(0, 10)}${sealed[10] === 'A' ? 'B' : 'A'}${sealed.slice(11)}`;
    expect(isSecretBoxError(refusal(() => createSecretBox(KEY).open(altered, 'eu')))).toBe(true);
    expect(isSecretBoxError(refusal(() => createSecretBox(KEY).open('v2:abc', 'eu')))).toBe(true);
  });

  it('refuses a GW_SECRET_KEY shorter than 32 characters', () => {
    expect(refusal(() => createSecretBox('short'))).toBeInstanceOf(RangeError);
  });
});
