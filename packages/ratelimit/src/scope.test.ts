import { describe, expect, it } from 'vitest';
import { composeScope } from './scope.ts';

/** The hash tag Redis Cluster would use for `key`: the first `{…}` with something inside. */
function hashTag(key: string): string | undefined {
  return /\{([^}]+)\}/.exec(key)?.[1];
}

describe('composeScope', () => {
  it('puts the owner in a Redis hash tag and appends the other parts', () => {
    expect(composeScope('key', 'sk-1')).toBe('{key:sk-1}');
    expect(composeScope('key', 'sk-1', 'model', 'gpt-4o')).toBe('{key:sk-1}:model:gpt-4o');
    expect(composeScope('global')).toBe('{global}');
    expect(composeScope('ip', '2001:db8::1')).toBe('{ip:2001%3Adb8%3A%3A1}');
  });

  it('gives every scope of one owner the same hash tag, so one take fits one Cluster slot', () => {
    const scopes = [
      composeScope('key', 'k{1}'),
      composeScope('key', 'k{1}', 'model', 'llama3.2:3b'),
      composeScope('key', 'k{1}', 'model', '}{'),
    ];
    expect(new Set(scopes.map(hashTag))).toEqual(new Set(['key:k%7B1%7D']));
  });

  it('escapes separators, so a part cannot pass for several', () => {
    expect(composeScope('key', 'a:model:b')).not.toBe(composeScope('key', 'a', 'model', 'b'));
    expect(composeScope('key', 'a', 'model', 'b:c')).toBe('{key:a}:model:b%3Ac');
    expect(composeScope('key', '100%')).toBe('{key:100%25}');
    expect(composeScope('user', 'Zoë Müller')).toBe('{user:Zo%C3%AB%20M%C3%BCller}');
  });

  it('replaces a long part by a digest: short, stable, and distinct for distinct parts', () => {
    const long = 'x'.repeat(10_000);
    const scope = composeScope('user', `${long}a`);
    expect(scope).toMatch(/^\{user:#[\w-]{43}\}$/);
    expect(composeScope('user', `${long}a`)).toBe(scope);
    expect(composeScope('user', `${long}b`)).not.toBe(scope);
    // A digest cannot be forged by a part that looks like one: the `#` of a given part is escaped.
    expect(composeScope('user', scope.slice(6, -1))).not.toBe(scope);
  });

  it('digests a part that cannot be percent-encoded instead of throwing', () => {
    expect(composeScope('user', '\uD800')).toMatch(/^\{user:#[\w-]{43}\}$/);
  });
});
