import { describe, expect, it } from 'vitest';
import { redactSecrets } from './redact-secrets.ts';

describe('redactSecrets', () => {
  it('replaces the given key, Bearer tokens and sk- keys', () => {
    expect(redactSecrets('key abc123-secret was wrong', ['abc123-secret'])).toBe('key [redacted] was wrong');
    expect(redactSecrets('Authorization: Bearer bce-v3/ALTAK-x/y failed', [])).toBe('Authorization: [redacted] failed');
    expect(redactSecrets('Incorrect API key provided: sk-proj-AbC123xyz.', [])).toBe(
      'Incorrect API key provided: [redacted].',
    );
  });

  it('leaves ordinary text and too-short keys alone', () => {
    expect(redactSecrets('The model is busy', ['a', undefined])).toBe('The model is busy');
  });
});
