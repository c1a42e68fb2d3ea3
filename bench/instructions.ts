/**
 * `pnpm --filter @gw/bench instructions`: user-space CPU instructions the built gateway executes per request, counted
 * by valgrind's callgrind. Unlike requests per second on a shared 2-core machine, the count repeats from run to run,
 * so it tells whether a change to the hot path helped: a change that saves 3% is lost in the noise of `pnpm bench`
 * but not here. Kernel work (socket writes, which a bare proxy does too) is not counted, and instructions are not
 * time where the work is bound by memory (allocating and touching new objects): confirm such changes in CPU time.
 *
 * Each scenario runs the gateway under callgrind twice, with a small and a larger number of requests, and reports
 * the difference divided by the difference in requests: start-up and JIT warm-up cancel out. Needs valgrind (on
 * every gw machine) and about 4 minutes.
 *
 * Environment: GW_MAIN (the gateway build to count; default apps/gateway/dist/main.js), INSTRUCTIONS_N (default
 * 1000 more requests in the second run), INSTRUCTIONS_STREAM (`0`: JSON only, `1`: SSE only; default both), and
 * BENCH_LEDGER / BENCH_METRICS (`false` turns the ledger or the metrics off, as in gateway.bench.yaml), and
 * INSTRUCTIONS_VIRTUAL_KEY (`1`: send the requests with a virtual key that has RPM, TPM and a budget, the bench's
 * "virtual key" variant, instead of the master key).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startProcess } from './start-process.ts';
import { createVirtualKey } from './virtual-key.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const main = process.env.GW_MAIN ?? path.join(here, '../apps/gateway/dist/main.js');
const extra = Number(process.env.INSTRUCTIONS_N ?? 1000);
const base = 300;
const masterKey = 'instructions-master-key';

/** A fresh SQLite ledger and spill file for one gateway. */
function storageEnv(): Record<string, string> {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'gw-instructions-'));
  return {
    BENCH_STORAGE_URL: `sqlite://${path.join(folder, 'gateway.db')}`,
    BENCH_SPILL_PATH: path.join(folder, 'spill.jsonl'),
  };
}

/** Instructions the gateway executed from start to exit, serving `requests` requests. */
async function count(upstreamUrl: string, stream: boolean, requests: number): Promise<number> {
  const gateway = await startProcess(
    'valgrind',
    [
      '--tool=callgrind',
      '--callgrind-out-file=/dev/null',
      '--smc-check=all-non-file',
      process.execPath,
      '--max-semi-space-size=16',
      '--heap-growing-percent=80',
      main,
    ],
    {
      GW_CONFIG: path.join(here, 'gateway.bench.yaml'),
      PORT: '0',
      BENCH_UPSTREAM_URL: `${upstreamUrl}/v1`,
      GW_MASTER_KEY: masterKey,
      ...storageEnv(),
      BENCH_LEDGER: process.env.BENCH_LEDGER ?? 'true',
      BENCH_METRICS: process.env.BENCH_METRICS ?? 'true',
      REDIS_URL: '',
    },
  );
  const bearer =
    process.env.INSTRUCTIONS_VIRTUAL_KEY === '1' ? await createVirtualKey(gateway.url, masterKey) : masterKey;
  const body = JSON.stringify({ model: 'bench', stream, messages: [{ role: 'user', content: 'Say twenty words.' }] });
  const result = await autocannon({
    url: `${gateway.url}/v1/chat/completions`,
    method: 'POST',
    connections: 10,
    amount: requests,
    timeout: 60,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body,
  });
  const failed = result.errors + result.non2xx + result.timeouts;
  gateway.child.kill('SIGTERM');
  await new Promise((resolve) => gateway.child.once('exit', resolve));
  if (failed > 0) throw new Error(`${failed} requests failed`);
  const collected = /Collected : (\d+)/.exec(gateway.output())?.[1];
  if (collected === undefined) throw new Error(`callgrind printed no total:\n${gateway.output()}`);
  return Number(collected);
}

const upstream = await startProcess(process.execPath, ['upstream.ts']);
try {
  const only = process.env.INSTRUCTIONS_STREAM;
  const scenarios = (
    [
      ['JSON', false],
      ['SSE (20 chunks)', true],
    ] as const
  ).filter(([, stream]) => only === undefined || only === (stream ? '1' : '0'));
  for (const [name, stream] of scenarios) {
    const [small, large] = await Promise.all([
      count(upstream.url, stream, base),
      count(upstream.url, stream, base + extra),
    ]);
    console.log(`${name}: ${Math.round((large - small) / extra).toLocaleString('en')} instructions per request`);
  }
} finally {
  upstream.child.kill('SIGTERM');
}
