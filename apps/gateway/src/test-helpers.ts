import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStandInUpstream, type StandInUpstream } from '@gw/providers/testing';
import { afterEach, expect } from 'vitest';
import type { z } from 'zod';
import type { Environment } from './config/interpolate.ts';
import { parseConfig } from './config/load.ts';
import { configSecrets } from './config/secrets.ts';
import { createLogger } from './observability/logger.ts';
import { createServer, type GatewayServer } from './server.ts';
import type { SettleHook } from './settle/settle-once.ts';

let directory: string | undefined;

/** A folder of this test process's own for files tests write (spill files, SQLite databases); removed at exit. */
export function testDirectory(): string {
  if (directory === undefined) {
    const created = mkdtempSync(join(tmpdir(), 'gw-test-'));
    directory = created;
    process.once('exit', () => rmSync(created, { recursive: true, force: true }));
  }
  return directory;
}

/** The vendor key the default test provider uses; tests assert it reaches the upstream and nothing else. */
export const TEST_VENDOR_KEY = 'sk-test-vendor-key-0123456789abcdef';

/** Options for {@link startTestGateway}. */
export interface TestGatewayOptions {
  /**
   * Raw configuration (as YAML would give it, `${VAR}` allowed), or a function of the stand-in
   * upstream. Default: one provider `up` (kind openai, key {@link TEST_VENDOR_KEY}) on the
   * stand-in, and an alias `chat` -> `up/gpt-4o-mini`.
   */
  config?: Record<string, unknown> | ((upstream: StandInUpstream) => Record<string, unknown>);
  env?: Environment;
  settle?: SettleHook;
  /** `GW_SECRET_KEY` (stored providers' keys); default none, whatever the environment says. */
  secretKey?: string;
  /** The built console to serve at /console; default what the gateway finds next to it (see `findConsoleDir`). */
  consoleDir?: string;
}

/** A running gateway in front of a running stand-in upstream. */
export interface TestGateway {
  /** Gateway base URL, e.g. `http://127.0.0.1:54321`. */
  readonly url: string;
  readonly upstream: StandInUpstream;
  readonly gateway: GatewayServer;
  /** Every log line the gateway wrote (debug and up). */
  readonly logs: string[];
  /** Stops both servers. */
  close(): Promise<void>;
}

/**
 * The default test configuration for a stand-in upstream.
 *
 * @example
 * const config = defaultTestConfig(upstream);
 */
export function defaultTestConfig(upstream: StandInUpstream): Record<string, unknown> {
  return {
    providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
    models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
    ...NO_RETRIES,
  };
}

/**
 * Config sections that turn retries and the circuit breaker off, for tests about what one upstream answer becomes
 * (resilience tests configure both on purpose).
 */
export const NO_RETRIES: Readonly<Record<string, unknown>> = { retry: { maxRetries: 0 }, breaker: { enabled: false } };

/**
 * Starts the stand-in upstream and a gateway on 127.0.0.1:0 configured from an inline object
 * (through the same interpolation and validation as gateway.yaml). Logs are captured.
 *
 * @example
 * const t = await startTestGateway();
 * const response = await fetch(`${t.url}/v1/models`);
 * await t.close();
 */
export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const upstream = await startStandInUpstream();
  try {
    const raw =
      typeof options.config === 'function' ? options.config(upstream) : (options.config ?? defaultTestConfig(upstream));
    // Tests keep their ledger in memory (and any spill in a folder of their own) unless they name a database.
    const storage = raw['storage'] ?? {
      url: 'sqlite::memory:',
      spillPath: join(testDirectory(), 'ledger-spill.jsonl'),
    };
    const config = parseConfig({ ...raw, storage }, { env: options.env ?? {} });
    const logs: string[] = [];
    const logger = createLogger({ level: 'debug', write: (line) => logs.push(line), secrets: configSecrets(config) });
    const gateway = await createServer({
      config,
      logger,
      host: '127.0.0.1',
      port: 0,
      ...(options.settle === undefined ? {} : { settle: options.settle }),
      secretKey: options.secretKey ?? '',
      ...(options.consoleDir === undefined ? {} : { consoleDir: options.consoleDir }),
    });
    return {
      url: gateway.url,
      upstream,
      gateway,
      logs,
      close: async () => {
        await gateway.close();
        await upstream.close();
      },
    };
  } catch (error) {
    await upstream.close();
    throw error;
  }
}

/**
 * For a test file: returns a `start(options?)` that starts a test gateway, and registers an
 * `afterEach` that closes the one the test started.
 *
 * @example
 * const start = gatewayPerTest();
 * it('answers', async () => {
 *   const { url } = await start();
 * });
 */
export function gatewayPerTest(): (options?: TestGatewayOptions) => Promise<TestGateway> {
  let current: TestGateway | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return async (options = {}) => {
    current = await startTestGateway(options);
    return current;
  };
}

/**
 * POSTs JSON to the gateway; `signal` lets a test leave as a client would.
 *
 * @example
 * const response = await postJson(`${t.url}/v1/chat/completions`, { model: 'chat', messages });
 */
export function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: signal ?? null,
  });
}

/**
 * The captured log lines at `error` level (what an operator would be paged for).
 *
 * @example
 * expect(errorLines(logs)).toEqual([]);
 */
export function errorLines(logs: readonly string[]): string[] {
  return logs.filter((line) => line.includes('"level":"error"'));
}

/**
 * The body of the n-th chat request the stand-in upstream received, checked against `schema` (the fields a test
 * reads).
 *
 * @example
 * expect(upstreamChatBody(t.upstream, 0, recordedBody).model).toBe('gpt-4o-mini');
 */
export function upstreamChatBody<T extends z.ZodType>(
  upstream: StandInUpstream,
  index: number,
  schema: T,
): z.output<T> {
  const request = upstream.requests[index];
  expect(request?.path).toBe('/v1/chat/completions');
  return schema.parse(request?.body);
}

/** A short valid chat request body for `model`. */
export function chatBody(model: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model, messages: [{ role: 'user', content: 'Say hello' }], ...extra };
}

/** A raw node:http response: status, headers and the whole body as text. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * Sends a request with node:http (for cases fetch cannot express, e.g. a body that keeps coming
 * after the server has answered). Resolves with whatever answer arrives.
 *
 * @example
 * const answer = await rawRequest(`${t.url}/v1/chat/completions`, { method: 'POST', body: 'not json' });
 */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string | number>; body?: string | Buffer } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      { method: options.method ?? 'GET', headers: options.headers ?? {} },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

const REPOSITORY_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

/** A gateway running as a process of its own, started the way `pnpm start` starts it. */
export interface GatewayProcess {
  /** What the gateway printed it listens on, e.g. `http://127.0.0.1:54321`. */
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything written to standard error so far (the JSON log lines, and any crash). */
  stderr(): string;
  /** The JSON log lines written so far, parsed (other lines skipped). */
  logLines(): Array<Record<string, unknown>>;
  /** Resolves with the exit code once the process has exited (`null` when a signal ended it). */
  exited(): Promise<number | null>;
  /** SIGKILL when it still runs: for cleanups. */
  kill(): void;
}

/** Options of {@link startGatewayProcess}. */
export interface GatewayProcessOptions {
  /** The whole environment besides PATH: no vendor key of the machine running the tests reaches the gateway. */
  env?: Record<string, string> | undefined;
  /** Written to a file of its own (JSON is YAML) and named by GW_CONFIG. */
  config?: Record<string, unknown> | undefined;
  /** The working directory (where `./data` goes); default the repository root. */
  cwd?: string | undefined;
}

/**
 * Starts `pnpm start`'s command from the repository root and resolves once it printed its listening line; rejects
 * when it exits before that.
 *
 * @example
 * const gateway = await startGatewayProcess({ config: { server: { port: 0 } } });
 * gateway.child.kill('SIGTERM');
 * expect(await gateway.exited()).toBe(0);
 */
export function startGatewayProcess(options: GatewayProcessOptions = {}): Promise<GatewayProcess> {
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '', ...options.env };
  if (options.config !== undefined) {
    const path = join(testDirectory(), `gateway-${randomUUID()}.yaml`);
    writeFileSync(path, JSON.stringify(options.config));
    env['GW_CONFIG'] = path;
  }
  const child = spawn(process.execPath, ['--conditions=@gw/source', MAIN], {
    cwd: options.cwd ?? REPOSITORY_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match?.[1] === undefined) return;
      resolve({
        url: match[1],
        child,
        stderr: () => stderr,
        logLines: () =>
          stderr.split('\n').flatMap((line) => {
            if (!line.startsWith('{')) return [];
            return [JSON.parse(line) as Record<string, unknown>];
          }),
        exited: () => exit,
        kill: () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        },
      });
    });
    void exit.then((code) => reject(new Error(`exited with ${String(code)} before listening: ${stderr}`)));
  });
}

/**
 * The resident memory of a process now, in MiB, read from /proc (Linux only): what a test of a gateway process's
 * memory measures.
 *
 * @example
 * const before = rssMbOf(gateway.child.pid!);
 */
export function rssMbOf(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
}
