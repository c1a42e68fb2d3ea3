import { describe, expect, it } from 'vitest';
import { findLiteralAccessors } from './check-accessors.ts';

describe('findLiteralAccessors', () => {
  it('flags getters and setters written in object literals, with their lines', () => {
    const text = ['export function make(n: number) {', '  return {', '    get n() { return n; },', '    set n(value) { n = value; },', '  };', '}'].join('\n');
    expect(findLiteralAccessors('make.ts', text)).toEqual(['make.ts:3: getter in an object literal', 'make.ts:4: setter in an object literal']);
  });

  it('leaves class accessors, methods and plain fields alone', () => {
    const text = ['class Box { get size() { return 1; } }', 'const steps = { pending: 0, run() { return 1; }, size: () => 2 };'].join('\n');
    expect(findLiteralAccessors('box.ts', text)).toEqual([]);
  });

  it('accepts a literal or an accessor marked accessor-ok', () => {
    const literal = ['// accessor-ok: one per server', 'const server = {', '  get inFlight() { return 0; },', '};'].join('\n');
    const accessor = ['const server = {', '  // accessor-ok: one per server', '  get inFlight() { return 0; },', '  get other() { return 0; },', '};'].join('\n');
    expect(findLiteralAccessors('server.ts', literal)).toEqual([]);
    expect(findLiteralAccessors('server.ts', accessor)).toEqual(['server.ts:4: getter in an object literal']);
  });
});
