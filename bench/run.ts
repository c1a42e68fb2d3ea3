/**
 * `pnpm bench`: gw's gateway against a bare node:http proxy on the same stand-in upstream.
 *
 * Three processes besides this one (the load generator): the upstream, the bare proxy and the gateway
 * (built, auth on). Each scenario runs several rounds, alternating which target goes first, and reports
 * medians: requests/s of each, the gateway/bare ratio, the latency the gateway adds per request at one
 * connection (from throughput: 1/rps_gateway - 1/rps_bare, which is exact where a latency histogram
 * rounds to whole milliseconds), p99 latency, CPU time per request of each proxy process (from /proc, so Linux only;
 * steadier than requests/s on a shared machine), and the gateway's peak RSS (VmHWM).
 *
 * Environment: BENCH_ROUNDS (default 3), BENCH_SECONDS (default 5 per run), BENCH_GATEWAY_FLAGS (the gateway's
 * node flags, default the recommended `--max-semi-space-size=16 --heap-growing-percent=80`).
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startProcess } from './start-process.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const masterKey = 'bench-master-key';

interface Scenario {
  name: string;
  connections: number;
  stream: boolean;
}
const scenarios: Scenario[] = [
  { name: 'JSON, 50 connections', connections: 50, stream: false },
  { name: 'JSON, 1 connection', connections: 1, stream: false },
  { name: 'SSE (20 chunks), 50 connections', connections: 50, stream: true },
];

function body(model: string, stream: boolean): string {
  return JSON.stringify({
    model,
    stream,
    messages: [
      { role: 'system', content: 'You are a benchmark.' },
      { role: 'user', content: 'Say twenty words.' },
    ],
  });
}

interface RunResult {
  rps: number;
  p99: number;
  errors: number;
  cpuMicros: number;
}

// Clock ticks of /proc/<pid>/stat (USER_HZ): 100 per second on Linux.
const MICROS_PER_TICK = 10_000;

/** CPU time (user + system) a process has used, in µs; NaN where /proc is not there. */
function cpuMicros(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * MICROS_PER_TICK;
  } catch {
    return Number.NaN;
  }
}

async function load(
  url: string,
  model: string,
  scenario: Scenario,
  duration: number,
  pid?: number,
): Promise<RunResult> {
  const cpuBefore = cpuMicros(pid);
  const result = await autocannon({
    url: `${url}/v1/chat/completions`,
    method: 'POST',
    connections: scenario.connections,
    duration,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${masterKey}` },
    body: body(model, scenario.stream),
  });
  const cpu = (cpuMicros(pid) - cpuBefore) / result.requests.total;
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
    cpuMicros: cpu,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

function peakRssMb(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

const upstream = await startProcess(process.execPath, ['upstream.ts']);
const bare = await startProcess(process.execPath, ['bare-proxy.ts', upstream.url]);
// The flags recommended for production (see docs/operations.md): a 16 MB young-generation semi-space and a
// slower-growing old generation keep peak RSS under load well below what V8's defaults grow to.
const gatewayFlags = process.env.BENCH_GATEWAY_FLAGS?.split(' ').filter(Boolean) ?? [
  '--max-semi-space-size=16',
  '--heap-growing-percent=80',
];
const gateway = await startProcess(
  process.execPath,
  [...gatewayFlags, path.join(here, '../apps/gateway/dist/main.js')],
  {
    GW_CONFIG: path.join(here, 'gateway.bench.yaml'),
    PORT: '0',
    BENCH_UPSTREAM_URL: `${upstream.url}/v1`,
    GW_MASTER_KEY: masterKey,
  },
);
const children = [upstream.child, bare.child, gateway.child];
const stopAll = (): void => {
  for (const child of children) child.kill('SIGTERM');
};
process.on('SIGINT', () => {
  stopAll();
  process.exit(130);
});

const targets = [
  { name: 'bare', url: bare.url, model: 'bench-model', pid: bare.child.pid },
  { name: 'gateway', url: gateway.url, model: 'bench', pid: gateway.child.pid },
];

console.log(`gw bench: ${rounds} rounds x ${seconds} s per target and scenario, targets alternate`);
for (const target of targets) await load(target.url, target.model, scenarios[0]!, 2); // warm-up (JIT, sockets)

const rows: string[] = [];
let failed = false;
for (const scenario of scenarios) {
  const rps: Record<string, number[]> = { bare: [], gateway: [] };
  const p99: Record<string, number[]> = { bare: [], gateway: [] };
  const cpu: Record<string, number[]> = { bare: [], gateway: [] };
  const ratios: number[] = [];
  const added: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    const got: Record<string, RunResult> = {};
    for (const target of order) {
      const result = await load(target.url, target.model, scenario, seconds, target.pid);
      if (result.errors > 0) {
        failed = true;
        console.error(`  ${scenario.name} / ${target.name}: ${result.errors} failed requests`);
      }
      got[target.name] = result;
      rps[target.name]!.push(result.rps);
      p99[target.name]!.push(result.p99);
      cpu[target.name]!.push(result.cpuMicros);
    }
    ratios.push(got.gateway!.rps / got.bare!.rps);
    added.push(1000 / got.gateway!.rps - 1000 / got.bare!.rps);
    console.log(
      `  ${scenario.name}, round ${round + 1}: bare ${got.bare!.rps.toFixed(0)} req/s, gateway ${got.gateway!.rps.toFixed(0)} req/s, ratio ${ratios.at(-1)!.toFixed(2)}`,
    );
  }
  const addedCell = scenario.connections === 1 ? `${median(added).toFixed(3)} ms` : '';
  rows.push(
    `| ${scenario.name} | ${median(rps.bare!).toFixed(0)} | ${median(rps.gateway!).toFixed(0)} | ${median(ratios).toFixed(2)}x | ${median(p99.bare!).toFixed(0)} / ${median(p99.gateway!).toFixed(0)} ms | ${addedCell} | ${median(cpu.bare!).toFixed(0)} / ${median(cpu.gateway!).toFixed(0)} µs |`,
  );
}
const rss = peakRssMb(gateway.child.pid);
stopAll();

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `\nMachine: ${os.cpus().length} x ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
);
console.log(
  `Medians of ${rounds} rounds of ${seconds} s; load generator, upstream, bare proxy and gateway share the machine.\n`,
);
console.log(
  '| scenario | bare proxy req/s | gateway req/s | gateway / bare | p99 bare / gateway | added per request | CPU per request bare / gateway |',
);
console.log('|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
console.log(`\nGateway peak RSS: ${rss.toFixed(0)} MB`);
if (failed) {
  console.error('Some requests failed: the numbers above are not valid.');
  process.exitCode = 1;
}
