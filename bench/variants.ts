/**
 * The gateways `pnpm bench` measures side by side, each against the bare proxy and against each other. A variant is
 * a built entry file, a config file, environment and a label, or another load (another key) through the process of
 * an earlier variant; add one here (a "ledger on" / "ledger off" pair, say) and name the pairs to compare in
 * `comparisons`.
 *
 * Environment: BENCH_BASELINE=/path/to/another/checkout adds "baseline", that checkout's built gateway (run
 * `pnpm build` there first) with this checkout's config, so before and after are measured in one run.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** A gateway process to measure: a build, its config and environment. */
export interface ProcessVariant {
  label: string;
  /** The built entry file (`apps/gateway/dist/main.js` of some checkout). */
  main: string;
  /** The GW_CONFIG file. */
  config: string;
  /** Environment on top of the bench's (the upstream URL and the master key are added by the bench). */
  env: Record<string, string>;
  /** Send the load with the bench's virtual key (virtual-key.ts) instead of the master key. */
  virtualKey?: boolean;
}

/** Another load through the process of an earlier variant (`sharesProcessOf`, its label). */
export interface SharedVariant {
  label: string;
  sharesProcessOf: string;
  /** Send the load with the bench's virtual key (virtual-key.ts) instead of the master key. */
  virtualKey?: boolean;
}

/** One thing to measure: a gateway process of its own, or another load through an earlier one. */
export type Variant = ProcessVariant | SharedVariant;

const config = path.join(here, 'gateway.bench.yaml');
const main = path.join(here, '../apps/gateway/dist/main.js');

/** A variant's own database and spill file: each gateway writes its ledger to a fresh SQLite file. */
function storage(label: string): Record<string, string> {
  const folder = mkdtempSync(path.join(os.tmpdir(), `gw-bench-${label.replace(/\W+/g, '-')}-`));
  return {
    BENCH_STORAGE_URL: `sqlite://${path.join(folder, 'gateway.db')}`,
    BENCH_SPILL_PATH: path.join(folder, 'spill.jsonl'),
  };
}

export const variants: Variant[] = [
  { label: 'gateway', main, config, env: storage('gateway') },
  { label: 'ledger off', main, config, env: { ...storage('ledger-off'), BENCH_LEDGER: 'false' } },
  { label: 'metrics off', main, config, env: { ...storage('metrics-off'), BENCH_METRICS: 'false' } },
  // A virtual key with every per-request check on (RPM, TPM, a budget; limits in memory), limits never reached. Its
  // load goes through the "gateway" process, taking turns with the master key's: two processes of the same build
  // differed from round to round by more than the key's own work costs, so only one process measures that.
  { label: 'virtual key', sharesProcessOf: 'gateway', virtualKey: true },
];

const baseline = process.env.BENCH_BASELINE;
if (baseline !== undefined && baseline !== '') {
  const baselineMain = path.resolve(baseline, 'apps/gateway/dist/main.js');
  if (!existsSync(baselineMain)) {
    throw new Error(`BENCH_BASELINE: no ${baselineMain} (run \`pnpm build\` in ${baseline} first)`);
  }
  variants.push({ label: 'baseline', main: baselineMain, config, env: storage('baseline') });
}

/** Pairs `[a, b]` reported as a/b (requests per second, CPU per request) besides each one against the bare proxy. */
export const comparisons: Array<[string, string]> = [
  // The ledger's cost on the request path (issue target: at least 0.9x).
  ['gateway', 'ledger off'],
  // The metrics' cost (issue target: at least 0.95x).
  ['gateway', 'metrics off'],
  // A virtual key's lookup, rate limits and budget against the master key (issue target: at least 0.85x).
  ['virtual key', 'gateway'],
  ...(variants.some((variant) => variant.label === 'baseline') ? [['gateway', 'baseline'] as [string, string]] : []),
];
