import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const PACKAGE_DIRECTORY = fileURLToPath(new URL('..', import.meta.url));

// A fresh Node process records every module it resolves (a module.registerHooks resolve hook), imports the
// package, prices a request, and only then counts tokens. The rank files (js-tiktoken/ranks/*, megabytes of JS)
// must appear only after the count.
const SCRIPT = `
import { registerHooks } from 'node:module';
const resolved = [];
registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); resolved.push(result.url); return result; } });
const ranks = () => resolved.filter((url) => url.includes('/ranks/'));
const cost = await import('./src/index.ts');
const price = cost.lookupPrice({ vendor: 'openai', model: 'gpt-4o-mini-2024-07-18' });
const breakdown = cost.costOf({ prompt_tokens: 1000, completion_tokens: 100 }, price);
cost.estimateTokens('estimates load nothing either');
const afterPricing = ranks();
const tokenizer = await cost.loadTokenizer(cost.encodingForModel(price.model));
const count = tokenizer.countText('Hello, world');
console.log(JSON.stringify({ afterPricing, afterCount: ranks(), total: cost.formatMoney(breakdown.total), count }));
`;

describe('encodings load lazily', () => {
  it('importing @gw/cost and pricing load no rank file; the first count does', async () => {
    const { stdout } = await run(process.execPath, ['--input-type=module', '--eval', SCRIPT], {
      cwd: PACKAGE_DIRECTORY,
    });
    const result: { afterPricing: string[]; afterCount: string[]; total: string; count: number } = JSON.parse(stdout);
    expect(result.total).toBe('0.00021');
    expect(result.afterPricing).toEqual([]);
    expect(result.afterCount).toEqual([expect.stringContaining('/ranks/o200k_base')]);
    expect(result.count).toBe(3);
  });
});
