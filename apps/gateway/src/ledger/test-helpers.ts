// Shared by the ledger's tests: one factory per database (each test gets a fresh SQLite file or PostgreSQL schema),
// a TCP proxy that can cut PostgreSQL off, and a row builder.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import type { LedgerRow } from './ledger-row.ts';
import type { LedgerDialect } from './ledger-schema.ts';

/** DATABASE_URL when it names PostgreSQL (CI and these machines set it). */
export const POSTGRES_URL = /^postgres(?:ql)?:\/\//.test(process.env.DATABASE_URL ?? '')
  ? process.env.DATABASE_URL
  : undefined;

const POSTGRES_SKIP = POSTGRES_URL === undefined ? 'DATABASE_URL is not a postgres:// URL' : undefined;

/** Says, in one line, why a suite of a test file does not run. */
export function announceSkip(dialect: TestDialect, suite: string): void {
  if (dialect.skip !== undefined) console.info(`${suite} on ${dialect.dialect} skipped: ${dialect.skip}`);
}

/** A database of one test: its URL, and how to throw it away. */
export interface ScratchDatabase {
  readonly url: string;
  /** A folder of this test, for spill files. */
  readonly folder: string;
  readonly drop: () => Promise<void>;
}

/** One database the shared suites run against. */
export interface TestDialect {
  readonly dialect: LedgerDialect;
  /** Why the suite is skipped, or undefined when it runs. */
  readonly skip: string | undefined;
  readonly create: () => Promise<ScratchDatabase>;
}

/**
 * Sets PostgreSQL's search_path through the URL (pg passes `options` at connection start), and a session time zone
 * far from UTC, so that the tests prove buckets and dates do not depend on it.
 */
function withSearchPath(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema} -c TimeZone=Asia/Kathmandu`);
  return parsed.toString();
}

async function postgresAdmin<T>(action: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return await action(client);
  } finally {
    await client.end();
  }
}

/** SQLite in a fresh temporary folder, and PostgreSQL in a fresh schema (skipped without DATABASE_URL). */
export const TEST_DIALECTS: readonly TestDialect[] = [
  {
    dialect: 'sqlite',
    skip: undefined,
    async create() {
      const folder = await mkdtemp(join(tmpdir(), 'gw-ledger-'));
      return {
        url: `sqlite://${join(folder, 'data', 'gateway.db')}`,
        folder,
        drop: () => rm(folder, { recursive: true, force: true }),
      };
    },
  },
  {
    dialect: 'postgres',
    skip: POSTGRES_SKIP,
    async create() {
      const folder = await mkdtemp(join(tmpdir(), 'gw-ledger-'));
      const schema = `ledger_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
      await postgresAdmin((client) => client.query(`create schema ${schema}`));
      return {
        url: withSearchPath(POSTGRES_URL ?? '', schema),
        folder,
        drop: async () => {
          await postgresAdmin((client) => client.query(`drop schema ${schema} cascade`));
          await rm(folder, { recursive: true, force: true });
        },
      };
    },
  },
];

/** A TCP proxy on 127.0.0.1 in front of a server, which a test can cut (connections reset, new ones refused). */
export interface TcpProxy {
  readonly port: number;
  /** Closes every connection through the proxy and stops listening: the server looks down. */
  readonly cut: () => Promise<void>;
  /** Closes every connection, then accepts new ones and never answers: the server looks hung. */
  readonly stall: () => Promise<void>;
  /** Forwards again, on the same port. */
  readonly restore: () => Promise<void>;
  readonly close: () => Promise<void>;
}

/**
 * Starts a proxy to `target` (a URL's host and port).
 *
 * @example
 * const proxy = await startTcpProxy('127.0.0.1', 5432);
 * await proxy.cut();
 */
export async function startTcpProxy(host: string, port: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let listenPort = 0;

  const listen = async (forward: boolean) => {
    const current = createServer((client) => {
      sockets.add(client);
      if (!forward) {
        client.on('error', () => client.destroy());
        return;
      }
      const upstream = connect({ host, port });
      sockets.add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    await new Promise<void>((resolve, reject) => {
      current.once('error', reject);
      current.listen(listenPort, '127.0.0.1', () => resolve());
    });
    const address = current.address();
    if (address !== null && typeof address === 'object') listenPort = address.port;
    server = current;
  };

  const cut = async () => {
    const current = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (current !== undefined) await new Promise<void>((resolve) => current.close(() => resolve()));
  };

  await listen(true);
  return {
    port: listenPort,
    cut,
    stall: async () => {
      await cut();
      await listen(false);
    },
    restore: async () => {
      await cut();
      await listen(true);
    },
    close: cut,
  };
}

/** A database that a test can make unavailable to a writer, and bring back. */
export interface Outage {
  /** The URL the writer under test uses (PostgreSQL: through a proxy; SQLite: the file itself). */
  readonly url: string;
  /** PostgreSQL: the proxy is cut. SQLite: another connection holds the write lock (writes fail with SQLITE_BUSY). */
  readonly start: () => Promise<void>;
  /** PostgreSQL only: the server accepts connections and never answers. */
  readonly stall: (() => Promise<void>) | undefined;
  readonly end: () => Promise<void>;
  readonly close: () => Promise<void>;
}

/**
 * How the database of `scratch` goes down for a writer. Open the writer's database with a short busy timeout
 * (SQLite) and `migrate: false` (PostgreSQL through the proxy).
 *
 * @example
 * const outage = await outageOf('postgres', scratch);
 * await outage.start();
 */
export async function outageOf(dialect: LedgerDialect, scratch: ScratchDatabase): Promise<Outage> {
  if (dialect === 'postgres') {
    const target = new URL(scratch.url);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const proxied = new URL(scratch.url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    return { url: proxied.toString(), start: proxy.cut, stall: proxy.stall, end: proxy.restore, close: proxy.close };
  }
  const path = scratch.url.slice('sqlite://'.length);
  let holder: DatabaseSync | undefined;
  const end = async () => {
    holder?.exec('COMMIT');
    holder?.close();
    holder = undefined;
  };
  return {
    url: scratch.url,
    start: async () => {
      holder = new DatabaseSync(path);
      holder.exec('BEGIN IMMEDIATE');
    },
    stall: undefined,
    end,
    close: end,
  };
}

let sequence = 0;

/**
 * A complete ledger row with every field set to something other than its zero value; `overrides` replace fields.
 *
 * @example
 * const row = ledgerRow({ model: 'chat', createdAt: new Date('2026-12-03T10:00:00Z') });
 */
export function ledgerRow(overrides: Partial<LedgerRow> = {}): LedgerRow {
  sequence += 1;
  return {
    requestId: `req-${String(sequence).padStart(6, '0')}-${Math.random().toString(36).slice(2, 8)}`,
    createdAt: new Date(Date.UTC(2026, 11, 3, 10, 0, 0, sequence % 1000)),
    apiKeyId: 'key-1',
    model: 'chat',
    provider: 'openai',
    upstreamModel: 'gpt-4o-mini',
    endpoint: 'chat',
    stream: true,
    status: 'completed',
    httpStatus: 200,
    errorKind: null,
    attempts: 1,
    fallback: false,
    ttftMs: 180,
    latencyMs: 950,
    tokens: { input: 1200, cachedInput: 300, cacheWrite: 40, output: 250, reasoning: 64 },
    cost: {
      currency: 'USD',
      input: 180_000_000n,
      cachedInput: 22_500_000n,
      cacheWrite: 7_500_000n,
      output: 150_000_000n,
      reasoning: 0n,
      total: 360_000_000n,
    },
    estimated: false,
    ...overrides,
  };
}
