/**
 * The gateways `pnpm bench` measures side by side, each against the bare proxy and against each other. A variant is
 * a built entry file, a config file, environment and a label; add one here (a "ledger on" / "ledger off" pair, say)
 * and name the pairs to compare in `comparisons`.
 *
 * Environment: BENCH_BASELINE=/path/to/another/checkout adds "baseline", that checkout's built gateway (run
 * `pnpm build` there first) with this checkout's config, so before and after are measured in one run.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** One gateway build to measure. */
export interface Variant {
  label: string;
  /** The built entry file (`apps/gateway/dist/main.js` of some checkout). */
  main: string;
  /** The GW_CONFIG file. */
  config: string;
  /** Environment on top of the bench's (the upstream URL and the master key are added by the bench). */
  env: Record<string, string>;
}

const config = path.join(here, 'gateway.bench.yaml');

export const variants: Variant[] = [
  { label: 'gateway', main: path.join(here, '../apps/gateway/dist/main.js'), config, env: {} },
];

const baseline = process.env.BENCH_BASELINE;
if (baseline !== undefined && baseline !== '') {
  const main = path.resolve(baseline, 'apps/gateway/dist/main.js');
  if (!existsSync(main)) throw new Error(`BENCH_BASELINE: no ${main} (run \`pnpm build\` in ${baseline} first)`);
  variants.push({ label: 'baseline', main, config, env: {} });
}

/** Pairs `[a, b]` reported as a/b (requests per second, CPU per request) besides each one against the bare proxy. */
export const comparisons: Array<[string, string]> = variants.some((variant) => variant.label === 'baseline')
  ? [['gateway', 'baseline']]
  : [];
