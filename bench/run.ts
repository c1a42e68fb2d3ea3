/**
 * `pnpm bench`: gw's gateway (and any other variants, see variants.ts) against a bare node:http proxy on the same
 * stand-in upstream, then the many-streams scenario.
 *
 * Throughput scenarios: the upstream, the bare proxy and one process per variant (a variant may share another's, see
 * variants.ts) run beside this one (the load generator). Each scenario runs several rounds, rotating which process goes
 * first (the targets of one process run back to back, taking turns at going first), and reports medians: requests/s of
 * each target, each variant against the bare proxy and against the variants it is compared with, the latency a variant
 * adds per request at one connection (from throughput: 1/rps_variant - 1/rps_bare, which is exact where a latency
 * histogram rounds to whole milliseconds), p99 latency, CPU time per request of each proxy process (from /proc, so
 * Linux only; steadier than requests/s on a shared machine), and each process's peak RSS (VmHWM). The
 * spread (lowest-highest) of each median is printed too: it says how noisy the machine was.
 *
 * Many streams: BENCH_SLOW_STREAMS (default 5,000) slow streams at once through one fresh gateway process per
 * variant to one upstream host (slow-upstream.ts: BENCH_SLOW_CHUNKS chunks BENCH_SLOW_INTERVAL_MS apart, default
 * 20 x 1.5 s, ~32 s each, opened over 20 s); reports completed and failed streams, the duration, and the gateway's CPU
 * time and peak RSS over the scenario. BENCH_SLOW_STREAMS=0 skips it. One chunk that arrives alone costs the gateway
 * about 140 µs of CPU (3.1 ms per 20-chunk stream, 5.6 ms per 40-chunk one, with either HTTP client): 5,000 streams
 * of 40 chunks 500 ms apart would need 1.4 cores of one process, which it cannot have; these defaults need half a
 * core, and opening 250 streams a second keeps the gateway's accept queue (511) from overflowing while other work
 * shares the machine (an overflow resets the connection).
 *
 * Environment: BENCH_ROUNDS (default 3), BENCH_SECONDS (default 5 per run), BENCH_GATEWAY_FLAGS (the gateway's
 * node flags, default the recommended `--max-semi-space-size=16 --heap-growing-percent=80`), BENCH_BASELINE (see
 * variants.ts).
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import autocannon from 'autocannon';
import { runManyStreams } from './many-streams.ts';
import { startProcess, type Started } from './start-process.ts';
import { comparisons, variants, type ProcessVariant } from './variants.ts';
import { createVirtualKey } from './virtual-key.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const slowStreams = Number(process.env.BENCH_SLOW_STREAMS ?? 5000);
const slowChunks = Number(process.env.BENCH_SLOW_CHUNKS ?? 20);
const slowIntervalMs = Number(process.env.BENCH_SLOW_INTERVAL_MS ?? 1500);
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
  bearer = masterKey,
): Promise<RunResult> {
  const cpuBefore = cpuMicros(pid);
  const result = await autocannon({
    url: `${url}/v1/chat/completions`,
    method: 'POST',
    connections: scenario.connections,
    duration,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
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

/** `median (lowest-highest)`, with `digits` decimals. */
function spread(values: number[], digits = 0): string {
  const low = Math.min(...values);
  const high = Math.max(...values);
  return `${median(values).toFixed(digits)} (${low.toFixed(digits)}-${high.toFixed(digits)})`;
}

function peakRssMb(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

// The flags recommended for production (see docs/operations.md): a 16 MB young-generation semi-space and a
// slower-growing old generation keep peak RSS under load well below what V8's defaults grow to.
const gatewayFlags = process.env.BENCH_GATEWAY_FLAGS?.split(' ').filter(Boolean) ?? [
  '--max-semi-space-size=16',
  '--heap-growing-percent=80',
];

function startGateway(variant: ProcessVariant, upstreamUrl: string): Promise<Started> {
  return startProcess(process.execPath, [...gatewayFlags, variant.main], {
    ...variant.env,
    GW_CONFIG: variant.config,
    PORT: '0',
    BENCH_UPSTREAM_URL: `${upstreamUrl}/v1`,
    GW_MASTER_KEY: masterKey,
    // Limits and budgets in memory, whatever the shell's REDIS_URL says.
    REDIS_URL: '',
  });
}

async function stop(started: Started): Promise<void> {
  if (started.child.exitCode !== null) return;
  const exited = new Promise((resolve) => started.child.once('exit', resolve));
  started.child.kill('SIGTERM');
  await exited;
}

const children: Started[] = [];
process.on('SIGINT', () => {
  for (const started of children) started.child.kill('SIGTERM');
  process.exit(130);
});

const upstream = await startProcess(process.execPath, ['upstream.ts']);
children.push(upstream);
const bare = await startProcess(process.execPath, ['bare-proxy.ts', upstream.url]);
children.push(bare);
interface Target {
  name: string;
  url: string;
  model: string;
  pid: number | undefined;
  started: Started;
  /** The key the load is sent with. */
  bearer: string;
}
const targets: Target[] = [
  { name: 'bare', url: bare.url, model: 'bench-model', pid: bare.child.pid, started: bare, bearer: masterKey },
];
// The targets by process, in start order: a process's own variant first, then the loads that share it.
const groups: Target[][] = [[targets[0]!]];
for (const variant of variants) {
  let group: Target[];
  let gateway: Started;
  if ('sharesProcessOf' in variant) {
    const found = groups.find((candidate) => candidate[0]!.name === variant.sharesProcessOf);
    if (found === undefined) {
      throw new Error(
        `variant ${variant.label}: no earlier variant ${variant.sharesProcessOf} to share a process with`,
      );
    }
    group = found;
    gateway = found[0]!.started;
  } else {
    gateway = await startGateway(variant, upstream.url);
    children.push(gateway);
    group = [];
    groups.push(group);
  }
  const bearer = variant.virtualKey === true ? await createVirtualKey(gateway.url, masterKey) : masterKey;
  const target: Target = {
    name: variant.label,
    url: gateway.url,
    model: 'bench',
    pid: gateway.child.pid,
    started: gateway,
    bearer,
  };
  targets.push(target);
  group.push(target);
}
const labels = variants.map((variant) => variant.label);
const gatewayGroups = groups.slice(1);

console.log(
  `gw bench: ${rounds} rounds x ${seconds} s per target and scenario, processes rotate; variants: ${labels.join(', ')}`,
);
for (const target of targets) await load(target.url, target.model, scenarios[0]!, 2, undefined, target.bearer); // warm-up (JIT, sockets)

const rows: string[] = [];
const comparisonRows: string[] = [];
let failed = false;
for (const scenario of scenarios) {
  const rps: Record<string, number[]> = {};
  const p99: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  const ratios: Record<string, number[]> = {};
  const added: Record<string, number[]> = {};
  for (let round = 0; round < rounds; round += 1) {
    // Rotate the order so that no process always runs first (or last) on a machine that warms up or throttles. The
    // targets of one process run back to back, first one then the other first: their ratio compares neighbours.
    const order = groups
      .map((_, index) => groups[(index + round) % groups.length]!)
      .flatMap((group) => (round % 2 === 0 ? group : [...group].reverse()));
    const got: Record<string, RunResult> = {};
    for (const target of order) {
      const result = await load(target.url, target.model, scenario, seconds, target.pid, target.bearer);
      if (result.errors > 0) {
        failed = true;
        console.error(`  ${scenario.name} / ${target.name}: ${result.errors} failed requests`);
      }
      got[target.name] = result;
      (rps[target.name] ??= []).push(result.rps);
      (p99[target.name] ??= []).push(result.p99);
      (cpu[target.name] ??= []).push(result.cpuMicros);
    }
    const bareRps = got.bare!.rps;
    for (const label of labels) {
      (ratios[`${label}/bare`] ??= []).push(got[label]!.rps / bareRps);
      (added[label] ??= []).push(1000 / got[label]!.rps - 1000 / bareRps);
    }
    for (const [a, b] of comparisons) {
      (ratios[`${a}/${b}`] ??= []).push(got[a]!.rps / got[b]!.rps);
      (ratios[`cpu ${a}/${b}`] ??= []).push(got[a]!.cpuMicros / got[b]!.cpuMicros);
    }
    console.log(
      `  ${scenario.name}, round ${round + 1}: ${targets.map((target) => `${target.name} ${got[target.name]!.rps.toFixed(0)} req/s`).join(', ')}`,
    );
  }
  for (const label of labels) {
    const addedCell = scenario.connections === 1 ? `${median(added[label]!).toFixed(3)} ms` : '';
    rows.push(
      `| ${scenario.name} | ${label} | ${spread(rps.bare!)} | ${spread(rps[label]!)} | ${median(ratios[`${label}/bare`]!).toFixed(2)}x | ${median(p99.bare!).toFixed(0)} / ${median(p99[label]!).toFixed(0)} ms | ${addedCell} | ${spread(cpu.bare!)} / ${spread(cpu[label]!)} µs |`,
    );
  }
  for (const [a, b] of comparisons) {
    comparisonRows.push(
      `| ${scenario.name} | ${a} / ${b} | ${spread(ratios[`${a}/${b}`]!, 2)}x | ${spread(ratios[`cpu ${a}/${b}`]!, 2)}x |`,
    );
  }
}
const rss: Record<string, number> = {};
for (const [own, ...sharers] of gatewayGroups) {
  const label =
    sharers.length > 0 ? `${own!.name} (with ${sharers.map((target) => target.name).join(', ')})` : own!.name;
  rss[label] = peakRssMb(own!.pid);
}
for (const [own] of gatewayGroups) await stop(own!.started);
await stop(bare);

// Many streams: a fresh gateway process per variant, so its peak RSS is this scenario's.
const manyRows: string[] = [];
let manyFailed = false;
if (slowStreams > 0) {
  const slowUpstream = await startProcess(process.execPath, ['slow-upstream.ts']);
  children.push(slowUpstream);
  const expectedMs = (slowChunks + 1) * slowIntervalMs;
  console.log(
    `\nmany streams: ${slowStreams} at once, ${slowChunks} chunks ${slowIntervalMs} ms apart (~${(expectedMs / 1000).toFixed(0)} s each)`,
  );
  // The whole gateway (and the baseline it is compared with); the one-feature-off variants add nothing here.
  for (const variant of variants.filter(
    (candidate): candidate is ProcessVariant =>
      !('sharesProcessOf' in candidate) && (candidate.label === 'gateway' || candidate.label === 'baseline'),
  )) {
    const gateway = await startGateway(variant, slowUpstream.url);
    children.push(gateway);
    const cpuBefore = cpuMicros(gateway.child.pid);
    const ownCpuBefore = process.cpuUsage();
    const result = await runManyStreams({
      url: gateway.url,
      masterKey,
      model: 'bench',
      streams: slowStreams,
      timeoutMs: expectedMs * 3,
      // Opened over two thirds of a stream's length (at most 20 s): all are open at once for the last third.
      rampMs: Math.min(20_000, (expectedMs * 2) / 3),
    });
    const gatewayCpuS = (cpuMicros(gateway.child.pid) - cpuBefore) / 1e6;
    const ownCpu = process.cpuUsage(ownCpuBefore);
    const peak = peakRssMb(gateway.child.pid);
    await stop(gateway);
    if (result.errored > 0) {
      // A result, not an invalid measurement (an older build may fail here by design); this checkout must not.
      if (variant.label === 'gateway') manyFailed = true;
      const reasons = [...result.reasons].map(([reason, count]) => `${count} ${reason}`).join(', ');
      console.error(`  many streams / ${variant.label}: ${result.errored} failed (${reasons})`);
    }
    manyRows.push(
      `| ${variant.label} | ${result.completed} | ${result.errored} | ${result.peakOpen} | ${(result.durationMs / 1000).toFixed(1)} s | ${gatewayCpuS.toFixed(1)} s | ${peak.toFixed(0)} MB | ${((ownCpu.user + ownCpu.system) / 1e6).toFixed(1)} s |`,
    );
  }
}
await stop(upstream);
for (const started of children) if (started.child.exitCode === null) await stop(started);

const cpuModel = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `\nMachine: ${os.cpus().length} x ${cpuModel}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
);
console.log(
  `Medians of ${rounds} rounds of ${seconds} s (lowest-highest in brackets); load generator, upstream, bare proxy and gateways share the machine.\n`,
);
console.log(
  '| scenario | variant | bare proxy req/s | variant req/s | variant / bare | p99 bare / variant | added per request | CPU per request bare / variant |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
if (comparisonRows.length > 0) {
  console.log('\n| scenario | pair | req/s ratio | CPU per request ratio |');
  console.log('|---|---|---|---|');
  for (const row of comparisonRows) console.log(row);
}
console.log(
  `\nPeak RSS over the throughput scenarios: ${Object.entries(rss)
    .map(([label, mb]) => `${label} ${mb.toFixed(0)} MB`)
    .join(', ')}`,
);
if (manyRows.length > 0) {
  console.log(
    '\n| many streams | completed | failed | peak open | duration | gateway CPU | gateway peak RSS | load generator CPU |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const row of manyRows) console.log(row);
}
if (failed) {
  console.error('Some requests failed: the numbers above are not valid.');
  process.exitCode = 1;
}
if (manyFailed) {
  console.error("Some of this checkout's many streams failed.");
  process.exitCode = 1;
}
