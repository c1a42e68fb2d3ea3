import type { HealthCheckResult } from '@gw/providers';
import type { Logger } from '../observability/logger.ts';
import type { ProviderRegistry } from './provider-registry.ts';

/** The last active probe of one provider. */
export interface ProbeResult {
  readonly provider: string;
  readonly ok: boolean;
  readonly latencyMs: number;
  /** When it ran (ms since the epoch). */
  readonly at: number;
  /** The failure's kind and message (never a key), when it failed. */
  readonly error?: { kind: string; message: string } | undefined;
}

/** Active health probes: one `healthCheck()` per enabled provider, every interval. */
export interface HealthProbes {
  /** The last result of every provider probed so far. */
  results(): ProbeResult[];
  /** Runs one round now (also what the timer runs); resolves when every probe answered. */
  probeAll(): Promise<void>;
  stop(): void;
}

/** Options of {@link startHealthProbes}. */
export interface HealthProbesOptions {
  intervalMs: number;
  /** Each probe is cut after this long. */
  timeoutMs: number;
  now?: (() => number) | undefined;
}

/**
 * Probes every enabled provider in the background with its `healthCheck()` (its model list, for most kinds), keeps
 * the last result per provider for health views, and logs when a provider turns healthy or unhealthy. Probes never
 * overlap, and the timer does not keep the process alive.
 *
 * @example
 * const probes = startHealthProbes(registry, logger, { intervalMs: 30_000, timeoutMs: 5_000 });
 * probes.results(); // [{ provider: 'openai', ok: true, latencyMs: 120, at: … }]
 */
export function startHealthProbes(
  registry: ProviderRegistry,
  logger: Logger,
  options: HealthProbesOptions,
): HealthProbes {
  const now = options.now ?? Date.now;
  const last = new Map<string, ProbeResult>();
  let running: Promise<void> | undefined;

  async function probeOne(id: string, check: (signal: AbortSignal) => Promise<HealthCheckResult>): Promise<void> {
    const result = await check(AbortSignal.timeout(options.timeoutMs));
    const probe: ProbeResult = {
      provider: id,
      ok: result.ok,
      latencyMs: Math.round(result.latencyMs),
      at: now(),
      error: result.error === undefined ? undefined : { kind: result.error.kind, message: result.error.message },
    };
    const before = last.get(id);
    last.set(id, probe);
    if (before === undefined ? !probe.ok : before.ok !== probe.ok) {
      if (probe.ok) logger.info(`provider "${id}" is healthy again`, { provider: id });
      else logger.warn(`provider "${id}" failed its health probe`, { provider: id, kind: probe.error?.kind });
    }
  }

  function probeAll(): Promise<void> {
    running ??= Promise.all(
      [...registry.enabled.values()].map((entry) =>
        probeOne(entry.id, (signal) => entry.provider.healthCheck({ signal })),
      ),
    ).then(
      () => {
        running = undefined;
      },
      () => {
        running = undefined;
      },
    );
    return running;
  }

  const timer = setInterval(() => void probeAll(), options.intervalMs);
  timer.unref();
  return { results: () => [...last.values()], probeAll, stop: () => clearInterval(timer) };
}
