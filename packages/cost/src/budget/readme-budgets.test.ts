// The README's Budgets examples are what people copy first: each `ts` block of that section is type-checked with
// the workspace's compiler options, then run, and what it prints must be what its comments say it prints.
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { Redis } from 'ioredis';
import ts from 'typescript';
import { afterAll, describe, expect, it, vi } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(path.join(here, '../../README.md'), 'utf8');
const section = readme.slice(readme.indexOf('\n## Budgets\n'), readme.indexOf('\n## API\n'));
const examples = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
const REDIS_URL = process.env.REDIS_URL ?? '';
// The Redis example writes real keys: under a tag of its own here, removed afterwards.
const tag = `gw-test-readme-${randomUUID()}`;

/** Writes an example as a module of this folder, importing the package's source instead of '@gw/cost'. */
function materialise(code: string, index: number): string {
  const file = path.join(here, `__readme_example_${index}_${process.pid}__.ts`);
  writeFileSync(file, code.replaceAll(`from '@gw/cost'`, `from '../index.ts'`).replaceAll(`'gw-budgets'`, `'${tag}'`));
  return file;
}

/** The compiler's complaints about the files, with the workspace's options. */
function diagnosticsOf(files: readonly string[]): string[] {
  const configPath = path.join(here, '../../../../tsconfig.base.json');
  const config = ts.parseJsonConfigFileContent(
    ts.readConfigFile(configPath, (file) => ts.sys.readFile(file)).config,
    ts.sys,
    path.dirname(configPath),
  );
  const program = ts.createProgram(files, { ...config.options, noEmit: true });
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const where = diagnostic.file === undefined ? '' : `${path.basename(diagnostic.file.fileName)}: `;
    return where + ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
  });
}

// A printed value in a comment: a quoted string, a number, or a small object literal, separated by spaces.
const LITERAL = /^(?:'[^']*'|-?\d+n?|\{[^{}]*\})/;

/** What each `console.log(…); // <literal> …` line of an example says it prints, in order (undefined: unchecked). */
function expectedPrints(code: string): (string | undefined)[] {
  return code
    .split('\n')
    .filter((line) => line.includes('console.log('))
    .map((line) => {
      const start = line.indexOf('// ');
      if (start === -1) return undefined;
      const parts: string[] = [];
      let rest = line.slice(start + 3);
      for (let match = LITERAL.exec(rest); match !== null; match = LITERAL.exec(rest)) {
        parts.push(match[0]);
        rest = rest.slice(match[0].length);
        if (!rest.startsWith(' ')) break;
        rest = rest.slice(1);
      }
      return parts.length === 0 ? undefined : parts.join(' ');
    });
}

describe('README: Budgets examples', () => {
  const files = examples.map(materialise);
  afterAll(() => {
    for (const file of files) rmSync(file, { force: true });
  });

  it('are three, and type-check', () => {
    expect(examples).toHaveLength(3);
    expect(diagnosticsOf(files)).toEqual([]);
  });

  it('run in memory, printing what their comments say', async () => {
    const printed: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...values: unknown[]) => {
      printed.push(values.map((value) => inspect(value)).join(' '));
    });
    try {
      await import(pathToFileURL(files[0] as string).href);
      await import(pathToFileURL(files[2] as string).href);
    } finally {
      log.mockRestore();
    }
    const expected = expectedPrints(examples[0] as string);
    expect(printed).toHaveLength(expected.length);
    expected.forEach((value, index) => {
      if (value !== undefined) expect(printed[index], `print ${index + 1}`).toBe(value);
    });
  });

  it.skipIf(REDIS_URL === '')(
    `runs against Redis${REDIS_URL === '' ? ' (skipped: REDIS_URL is not set, and this example needs a real Redis)' : ''}`,
    async () => {
      const printed: string[] = [];
      const log = vi.spyOn(console, 'log').mockImplementation((...values: unknown[]) => {
        printed.push(values.map((value) => inspect(value)).join(' '));
      });
      const redis = new Redis(REDIS_URL);
      try {
        await import(pathToFileURL(files[1] as string).href);
        expect(printed).toEqual(expectedPrints(examples[1] as string));
      } finally {
        log.mockRestore();
        const keys = await redis.keys(`gw:budget:{${tag}}*`);
        expect(keys.length).toBeGreaterThan(0);
        await redis.del(...keys);
        await redis.quit();
      }
    },
  );
});
