import cluster, { type Worker } from 'node:cluster';
import { join, parse } from 'node:path';
import { ConfigError } from './config/config-error.ts';
import type { Environment } from './config/interpolate.ts';
import type { GatewayConfig } from './config/schema.ts';
import type { Logger } from './observability/logger.ts';

/** The most workers `GW_WORKERS` may ask for. */
const MAX_WORKERS = 256;
// A worker that dies sooner than this after its start is crashing again: each such restart waits twice as long.
const STABLE_AFTER_MS = 10_000;
const FIRST_RESTART_DELAY_MS = 250;
const MAX_RESTART_DELAY_MS = 10_000;
// Past the workers' own drain deadline: their last second for streams, then closing the database and Redis.
const STOP_MARGIN_MS = 10_000;

// Tells a worker its slot (the primary sets it for each worker it starts).
const SLOT_VARIABLE = 'GW_WORKER_SLOT';

/** What the primary and its workers tell each other over the IPC channel. */
type ClusterMessage = { type: 'gw:listening'; url: string } | { type: 'gw:stop'; signal: NodeJS.Signals };

function isClusterMessage(value: unknown): value is ClusterMessage {
  if (typeof value !== 'object' || value === null || !('type' in value)) return false;
  if (value.type === 'gw:stop') return 'signal' in value && typeof value.signal === 'string';
  return value.type === 'gw:listening' && 'url' in value && typeof value.url === 'string';
}

/**
 * The number of worker processes `GW_WORKERS` asks for: 1 (a single process, no cluster) when it is unset or empty.
 * Throws a {@link ConfigError} naming `GW_WORKERS` for anything but an integer from 1 to 256.
 *
 * @example
 * workerCount({ GW_WORKERS: '4' }); // 4
 */
export function workerCount(env: Environment): number {
  const raw = env['GW_WORKERS'];
  if (raw === undefined || raw.trim() === '') return 1;
  const value = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || value < 1 || value > MAX_WORKERS) {
    throw new ConfigError([
      { path: 'GW_WORKERS (environment)', message: `expected an integer from 1 to ${MAX_WORKERS}` },
    ]);
  }
  return value;
}

/** Which worker this process is. */
export interface WorkerIdentity {
  /** Node's worker id: 1, 2, … and a new one for each worker started in place of one that died. */
  readonly id: number;
  /** The worker's place, 1 to N: a worker started in place of one that died takes its slot. */
  readonly slot: number;
}

/**
 * This process's identity when it is a worker of `GW_WORKERS`; `undefined` in a single process and in the primary.
 *
 * @example
 * const worker = workerIdentity();
 * const logger = createLogger({ fields: worker === undefined ? undefined : { worker: worker.id } });
 */
export function workerIdentity(): WorkerIdentity | undefined {
  const id = cluster.worker?.id;
  if (!cluster.isWorker || id === undefined) return undefined;
  const slot = Number(process.env[SLOT_VARIABLE]);
  return { id, slot: Number.isSafeInteger(slot) && slot > 0 ? slot : id };
}

/**
 * The ledger spill file of the worker in `slot`. Workers must not share one: a file one worker moves aside to replay,
 * another may still be appending to. Slot 1 keeps the configured path, so that what a single process spilled before
 * is replayed by it.
 *
 * @example
 * workerSpillPath('./data/ledger-spill.jsonl', 2); // './data/ledger-spill.worker2.jsonl'
 */
export function workerSpillPath(path: string, slot: number): string {
  if (slot === 1) return path;
  const { dir, name, ext } = parse(path);
  return join(dir, `${name}.worker${slot}${ext}`);
}

/**
 * In a worker: tells the primary that this worker serves `url`, and calls `onStop` with the signal when the primary
 * asks it to drain (the signal the primary received). A worker whose primary is gone (killed) is ended by node:cluster
 * itself, at once.
 *
 * @example
 * joinPrimary(gateway.url, () => void gateway.drain().then(() => process.exit(0)));
 */
export function joinPrimary(url: string, onStop: (signal: NodeJS.Signals) => void): void {
  process.on('message', (message: unknown) => {
    if (isClusterMessage(message) && message.type === 'gw:stop') onStop(message.signal);
  });
  const listening: ClusterMessage = { type: 'gw:listening', url };
  process.send?.(listening);
}

/** Options of {@link runPrimary}. */
export interface PrimaryOptions {
  workers: number;
  config: GatewayConfig;
  logger: Logger;
  /** Called once, when every worker listens, with the URL they share. */
  onListening: (url: string) => void;
}

/** Where the primary is: until every worker first listens, serving, or stopping (with its exit code). */
type Phase =
  | { readonly name: 'starting' }
  | { readonly name: 'running' }
  | { readonly name: 'stopping'; readonly exitCode: number; readonly deadline: NodeJS.Timeout };

interface Slot {
  /** 1 to N. */
  readonly number: number;
  worker: Worker | undefined;
  /** The worker said it serves requests (and so listens for the stop message). */
  listening: boolean;
  startedAt: number;
  /** Deaths in a row, each sooner than STABLE_AFTER_MS after its start. */
  crashes: number;
  restart: NodeJS.Timeout | undefined;
}

/**
 * The primary of `GW_WORKERS=N`: forks N workers that share the listening port (node:cluster hands connections out
 * round-robin), starts a new worker, after a short backoff, for one that dies unexpectedly, and on SIGTERM/SIGINT
 * asks every worker to drain and waits for them. Resolves with the exit code: 0 once every worker has stopped after a
 * signal; 1 when a worker could not start (the others are stopped), on a second signal (workers are killed) or when
 * workers outlive their drain deadline.
 *
 * Without `redis.url` every worker counts rate limits, budgets and `max_parallel` on its own: said in a warning.
 *
 * @example
 * process.exit(await runPrimary({ workers: 4, config, logger, onListening: (url) => console.log(url) }));
 */
export function runPrimary(options: PrimaryOptions): Promise<number> {
  const { workers, config, logger } = options;
  if (config.redis.url === undefined) {
    logger.warn('limits and budgets are per worker without redis.url: each worker counts its own', { workers });
  }
  if (config.storage.url === 'sqlite::memory:') {
    logger.warn('storage.url is sqlite::memory: each worker has a database of its own (keys, ledger)', { workers });
  }
  logger.info('starting workers', { workers, pid: process.pid });

  return new Promise((resolve) => {
    const slots: Slot[] = Array.from({ length: workers }, (_, index) => ({
      number: index + 1,
      worker: undefined,
      listening: false,
      startedAt: 0,
      crashes: 0,
      restart: undefined,
    }));
    let phase: Phase = { name: 'starting' };

    const finish = (code: number): void => {
      if (phase.name === 'stopping') clearTimeout(phase.deadline);
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve(code);
    };
    const running = (): Worker[] => slots.flatMap((slot) => (slot.worker === undefined ? [] : [slot.worker]));
    const killAll = (): void => {
      for (const worker of running()) worker.process.kill('SIGKILL');
    };

    const stop = (exitCode: number, signal: NodeJS.Signals): void => {
      const deadline = setTimeout(() => {
        logger.error('workers still running past the drain deadline: killing them', { workers: running().length });
        killAll();
        finish(1);
      }, config.server.drainTimeoutMs + STOP_MARGIN_MS);
      phase = { name: 'stopping', exitCode, deadline };
      for (const slot of slots) {
        clearTimeout(slot.restart);
        slot.restart = undefined;
        const worker = slot.worker;
        if (worker === undefined) continue;
        // A worker still starting has no handler for the message yet; a signal stops it at once.
        if (!slot.listening) worker.process.kill('SIGTERM');
        else
          worker.send({ type: 'gw:stop', signal } satisfies ClusterMessage, (error: Error | null) => {
            if (error !== null) worker.process.kill('SIGTERM');
          });
      }
      if (running().length === 0) finish(exitCode);
    };

    const exited = (slot: Slot, worker: Worker, code: number | null, signal: string | null): void => {
      if (slot.worker !== worker) return;
      const wasListening = slot.listening;
      slot.worker = undefined;
      slot.listening = false;
      if (phase.name === 'stopping') {
        if (code !== 0 && code !== null) logger.warn('a worker stopped with an error', { worker: worker.id, code });
        if (running().length === 0) finish(phase.exitCode);
        return;
      }
      if (phase.name === 'starting' && !wasListening) {
        // The first start failed (the port is taken, the configuration cannot be served): another try would too.
        logger.error('a worker exited before it could serve: stopping', { worker: worker.id, code, signal });
        stop(1, 'SIGTERM');
        return;
      }
      const lived = performance.now() - slot.startedAt;
      slot.crashes = lived < STABLE_AFTER_MS ? slot.crashes + 1 : 1;
      const restartInMs = Math.min(FIRST_RESTART_DELAY_MS * 2 ** (slot.crashes - 1), MAX_RESTART_DELAY_MS);
      logger.warn('a worker exited unexpectedly: starting another', {
        worker: worker.id,
        slot: slot.number,
        pid: worker.process.pid,
        code,
        signal,
        restartInMs,
      });
      slot.restart = setTimeout(() => fork(slot), restartInMs);
    };

    const fork = (slot: Slot): void => {
      slot.restart = undefined;
      const worker = cluster.fork({ [SLOT_VARIABLE]: String(slot.number) });
      slot.worker = worker;
      slot.listening = false;
      slot.startedAt = performance.now();
      worker.on('message', (message: unknown) => {
        if (!isClusterMessage(message) || message.type !== 'gw:listening') return;
        slot.listening = true;
        if (phase.name === 'starting' && slots.every((candidate) => candidate.listening)) {
          phase = { name: 'running' };
          options.onListening(message.url);
        }
      });
      worker.on('exit', (code: number | null, signal: string | null) => exited(slot, worker, code, signal));
    };

    function onSignal(signal: NodeJS.Signals): void {
      if (phase.name === 'stopping') {
        logger.warn('second signal: killing the workers without waiting for in-flight requests', { signal });
        killAll();
        finish(1);
        return;
      }
      logger.info('draining: every worker finishes its in-flight requests', {
        signal,
        workers: running().length,
        drainTimeoutMs: config.server.drainTimeoutMs,
      });
      stop(0, signal);
    }
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);

    for (const slot of slots) fork(slot);
  });
}
