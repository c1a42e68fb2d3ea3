import type { GatewayConfig } from '../config/schema.ts';
import type { KeyStore, VirtualKey } from '../keys/key-store.ts';
import type { Logger } from '../observability/logger.ts';
import type { RequestOutcome } from '../settle/settle-once.ts';
import { toLedgerRow } from '../settle/subscribers/ledger.ts';
import { uuidv7 } from '../uuidv7.ts';
import { batchCallEnv } from './batch-call.ts';
import type { ClaimedLine, LineResult } from './batch-records.ts';
import type { BatchStore } from './batch-store.ts';

/** Options of {@link createBatchRunner}. */
export interface BatchRunnerOptions {
  store: BatchStore;
  /** The virtual keys: a line runs as the key that created its batch, read again when it runs (revoked: refused). */
  keys: KeyStore | undefined;
  /** The gateway's own app: a line goes through the same routes, limits, budgets and routing as a live call. */
  dispatch: (request: Request, env: object) => Promise<Response>;
  settings: GatewayConfig['batches'];
  logger: Logger;
  /** The reporting currency of the ledger rows. */
  currency: string;
  now?: () => number;
  random?: () => number;
}

/** Runs the batches of the database in this process. */
export interface BatchRunner {
  /** Starts polling (and running lines). */
  start(): void;
  /** Looks for work now (a batch was created or requeued). */
  wake(): void;
  /**
   * Takes the settled outcome of a line's run (the ledger subscriber asks first): the runner writes its ledger row in
   * the same transaction as the line's state. False for any other request.
   */
  takeOutcome(outcome: RequestOutcome): boolean;
  /**
   * Stops claiming lines; lines running get `graceMs` to finish, then are aborted and queued again (with the ledger
   * row of what reached the upstream). Resolves once every line is settled.
   */
  stop(graceMs: number): Promise<void>;
}

// HTTP statuses worth another run: rate limits, a full or timed-out queue, upstream trouble.
const RETRYABLE = new Set([408, 409, 429, 500, 502, 503, 504, 529]);
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 60_000;
// A key revoked while its batch runs stops it within this.
const KEY_CACHE_MS = 1000;

function retryAfterMs(response: Response): number | undefined {
  const header = response.headers.get('retry-after');
  if (header === null) return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, BACKOFF_MAX_MS) : undefined;
}

/** True when a line's body asks for a stream (OpenAI refuses those in batches; the answer must be one JSON body). */
function asksForStream(body: string): boolean {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null && Reflect.get(parsed, 'stream') === true;
  } catch {
    return false;
  }
}

/** The answer's text as JSON text: as it is when it parses, else as a JSON string (never a file that cannot be read). */
function asJson(text: string): string {
  try {
    JSON.parse(text);
    return text;
  } catch {
    return JSON.stringify(text);
  }
}

function errorBody(message: string, type: string, code: string): string {
  return JSON.stringify({ error: { message, type, code, param: null } });
}

/**
 * Creates the runner of the batches in the database. Lines are claimed under a lease (several processes share the
 * work, each line runs in one), renewed while they run; each is sent through the gateway's own app at the batch
 * priority, and settled with its ledger row in one transaction, so a line either is settled and billed, or runs
 * again: a crash never bills a line twice.
 *
 * @example
 * const runner = createBatchRunner({ store, keys, dispatch: (request, env) => app.fetch(request, env), settings, logger, currency: 'USD' });
 * runner.start();
 */
export function createBatchRunner(options: BatchRunnerOptions): BatchRunner {
  const { store, settings, logger } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  // This process's name on the leases it holds.
  const owner = `runner-${uuidv7()}`;
  const running = new Map<string, { done: Promise<void>; abort: AbortController }>();
  const outcomes = new Map<string, RequestOutcome | undefined>();
  const keyCache = new Map<string, { key: VirtualKey | undefined; at: number }>();
  let started = false;
  let stopping = false;
  let ticking: Promise<void> | undefined;
  let again = false;
  let failing = false;
  let poll: NodeJS.Timeout | undefined;
  let renew: NodeJS.Timeout | undefined;

  const keyOf = async (id: string): Promise<VirtualKey | undefined> => {
    const cached = keyCache.get(id);
    if (cached !== undefined && now() - cached.at < KEY_CACHE_MS) return cached.key;
    const key = await options.keys?.get(id);
    keyCache.set(id, { key, at: now() });
    return key;
  };

  /** Why the line's key may not run it any more, or undefined. */
  const keyProblem = (key: VirtualKey | undefined): string | undefined => {
    if (key === undefined) return 'The API key that created this batch no longer exists.';
    if (key.revokedAt !== null) return 'The API key that created this batch has been revoked.';
    if (key.expiresAt !== null && key.expiresAt.getTime() <= now())
      return 'The API key that created this batch has expired.';
    return undefined;
  };

  const settle = async (line: ClaimedLine, result: LineResult, outcome: RequestOutcome | undefined): Promise<void> => {
    const ledger = outcome === undefined ? undefined : toLedgerRow(outcome, options.currency);
    try {
      const kept = await store.settle(line, owner, result, ledger, now());
      if (!kept)
        logger.warn('batch line: its lease was taken over by another process before it settled', {
          batchId: line.batchId,
          customId: line.customId,
        });
    } catch (error) {
      // Neither the state nor the ledger row is written: the lease runs out and the line runs again.
      logger.error('batch line could not be settled; it will run again', {
        batchId: line.batchId,
        customId: line.customId,
        error,
      });
    }
  };

  const runLine = async (line: ClaimedLine, abort: AbortController): Promise<void> => {
    const requestId = uuidv7();
    let key: VirtualKey | undefined;
    if (line.keyId !== null) {
      key = await keyOf(line.keyId);
      const problem = keyProblem(key);
      if (problem !== undefined) {
        await settle(
          line,
          {
            state: 'failed',
            requestId,
            statusCode: 401,
            response: errorBody(problem, 'authentication_error', 'invalid_api_key'),
          },
          undefined,
        );
        return;
      }
    }
    if (abort.signal.aborted) {
      await settle(line, { state: 'queued', requestId, statusCode: null, response: null }, undefined);
      return;
    }
    if (asksForStream(line.body)) {
      const message = 'A batch line cannot stream: send "stream": false or leave it out.';
      await settle(
        line,
        {
          state: 'failed',
          requestId,
          statusCode: 400,
          response: errorBody(message, 'invalid_request_error', 'stream_not_supported'),
        },
        undefined,
      );
      return;
    }
    outcomes.set(requestId, undefined);
    let response: Response;
    let text: string;
    try {
      response = await options.dispatch(
        new Request(`http://gateway.internal${line.endpoint}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-gw-priority': String(settings.priority) },
          body: line.body,
          signal: abort.signal,
        }),
        batchCallEnv({ requestId, key }),
      );
      text = await response.text();
    } catch (error) {
      const outcome = outcomes.get(requestId);
      outcomes.delete(requestId);
      if (!abort.signal.aborted) logger.error('batch line failed inside the gateway', { batchId: line.batchId, error });
      // Stopped mid-call (or an internal failure): queued again, with the ledger row of what reached the upstream.
      await settle(line, { state: 'queued', requestId, statusCode: null, response: null }, outcome);
      return;
    }
    const outcome = outcomes.get(requestId);
    outcomes.delete(requestId);
    if (abort.signal.aborted && !response.ok) {
      await settle(line, { state: 'queued', requestId, statusCode: null, response: null }, outcome);
      return;
    }
    if (response.ok) {
      await settle(
        line,
        { state: 'succeeded', requestId, statusCode: response.status, response: asJson(text) },
        outcome,
      );
      return;
    }
    if (RETRYABLE.has(response.status) && line.attempts < settings.maxAttempts) {
      const backoff = Math.min(BACKOFF_BASE_MS * 2 ** (line.attempts - 1), BACKOFF_MAX_MS) * (0.5 + random() / 2);
      const wait = Math.max(retryAfterMs(response) ?? 0, backoff);
      await settle(
        line,
        { state: 'queued', requestId, statusCode: response.status, response: asJson(text), notBefore: now() + wait },
        outcome,
      );
      return;
    }
    await settle(line, { state: 'failed', requestId, statusCode: response.status, response: asJson(text) }, outcome);
  };

  const launch = (line: ClaimedLine): void => {
    const id = `${line.batchId}:${line.lineNo}`;
    const abort = new AbortController();
    // Claimed while the runner was being stopped: queued again at once.
    if (stopping) abort.abort();
    const done = runLine(line, abort)
      .catch((error: unknown) => logger.error('batch line run failed', { batchId: line.batchId, error }))
      .finally(() => {
        running.delete(id);
        wake();
      });
    running.set(id, { done, abort });
  };

  const tick = async (): Promise<void> => {
    if (running.size === 0 && !(await store.hasWork())) return;
    const at = now();
    await store.startValidated(at);
    await store.expire(at);
    if (!stopping) {
      const lines = await store.claim(owner, settings.concurrency - running.size, at, settings.leaseMs);
      for (const line of lines) launch(line);
    }
    await store.finalize(now(), settings.leaseMs);
  };

  const wake = (): void => {
    if (!started || stopping) return;
    if (ticking !== undefined) {
      again = true;
      return;
    }
    clearTimeout(poll);
    ticking = tick()
      .then(() => {
        if (!failing) return;
        failing = false;
        logger.info('batch runner: the database answers again');
      })
      .catch((error: unknown) => {
        // Said once per outage, not once per poll.
        if (failing) return;
        failing = true;
        logger.warn('batch runner: the database could not be read; retrying', { error });
      })
      .finally(() => {
        ticking = undefined;
        if (stopping) return;
        if (again) {
          again = false;
          wake();
          return;
        }
        poll = setTimeout(wake, settings.pollMs);
        poll.unref();
      });
  };

  return {
    start() {
      if (started) return;
      started = true;
      renew = setInterval(
        () => {
          if (running.size === 0) return;
          store
            .renew(owner, now(), settings.leaseMs)
            .catch((error: unknown) => logger.warn('batch runner: leases could not be renewed', { error }));
        },
        Math.max(100, Math.floor(settings.leaseMs / 3)),
      );
      renew.unref();
      wake();
    },
    wake,
    takeOutcome(outcome) {
      if (!outcomes.has(outcome.requestId)) return false;
      outcomes.set(outcome.requestId, outcome);
      return true;
    },
    async stop(graceMs) {
      stopping = true;
      clearTimeout(poll);
      await ticking;
      const all = (): Promise<unknown> => Promise.allSettled([...running.values()].map((line) => line.done));
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([all(), grace]);
      clearTimeout(timer);
      for (const line of running.values()) line.abort.abort();
      await all();
      clearInterval(renew);
    },
  };
}
