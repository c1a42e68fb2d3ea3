import { describe, expect, it } from 'vitest';
import { importedPackages, readmeExamples } from './readme-examples.ts';

const readme = [
  '# pkg',
  '```ts',
  'function signature(): void; // prose, not checked',
  '```',
  '<!-- example: run -->',
  '```ts',
  "import { a } from '@gw/retry';",
  'console.log(a);',
  '```',
  '',
  '<!-- example: typecheck -->',
  '',
  '```ts',
  "import { createServer } from 'node:http';",
  '```',
  '```sh',
  'pnpm add @gw/retry',
  '```',
].join('\n');

describe('readmeExamples', () => {
  it('takes the marked ts blocks with their mode and line, and leaves unmarked blocks out', () => {
    expect(readmeExamples(readme)).toEqual([
      { line: 6, mode: 'run', code: "import { a } from '@gw/retry';\nconsole.log(a);\n" },
      { line: 13, mode: 'typecheck', code: "import { createServer } from 'node:http';\n" },
    ]);
  });

  it('refuses a marker that is not followed by a ts block, or names an unknown mode', () => {
    expect(() => readmeExamples('<!-- example: run -->\n```sh\nls\n```')).toThrow(
      'line 1: an example marker must be followed by a ```ts block',
    );
    expect(() => readmeExamples('<!-- example: maybe -->\n```ts\n```')).toThrow('unknown example mode "maybe"');
    expect(() => readmeExamples('<!-- example: run -->\n```ts\nx')).toThrow("the example's fence is never closed");
  });
});

describe('importedPackages', () => {
  it('names each package once, subpaths folded into it, node builtins and relative paths left out', () => {
    const code = [
      "import assert from 'node:assert/strict';",
      "import { startStandInUpstream } from '@gw/providers/testing';",
      "import { createProvider, type Transport } from '@gw/providers';",
      "import { Redis } from 'ioredis';",
      "import './local.ts';",
      "const lazy = await import('zod');",
    ].join('\n');
    expect(importedPackages(code)).toEqual(['@gw/providers', 'ioredis', 'zod']);
  });
});
