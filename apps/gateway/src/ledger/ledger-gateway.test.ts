// The ledger through a running gateway, on SQLite and on PostgreSQL: every request that reached routing is one row,
// whatever its end; none is lost while the database is away, nor at SIGTERM.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStandInUpstream, type RecordedRequest, type StandInBehaviour } from '@gw/providers/testing';
import { waitFor } from '@gw/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { chatBody, postJson, startTestGateway, TEST_VENDOR_KEY, type TestGateway } from '../test-helpers.ts';
import { openLedgerDatabase } from './ledger-database.ts';
import { createLedgerQueries } from './ledger-queries.ts';
import { announceSkip, outageOf, TEST_DIALECTS, type ScratchDatabase } from './test-helpers.ts';

type Kind = 'json' | 'stream' | 'leaves' | 'error';
const KINDS: readonly Kind[] = ['json', 'stream', 'leaves', 'error'];

/** The stand-in answers by the kind written in the prompt. */
function behaviourFor(request: RecordedRequest): StandInBehaviour {
  const text = JSON.stringify(request.body);
  if (text.includes('kind:error')) return { type: 'error', status: 500 };
  if (text.includes('kind:leaves')) return { type: 'chat', content: 'a b c d e f g h', stallAfterChunks: 3 };
  return { type: 'chat', content: 'a short answer', usage: { prompt_tokens: 12, completion_tokens: 3 } };
}

/** What the client saw of one request: its HTTP status and the gateway's request id (the ledger's key). */
interface Sent {
  readonly kind: Kind;
  readonly status: number;
  readonly id: string;
}

/** One request of `kind`; resolves once the client is done with it (read, or left mid-stream). */
async function send(url: string, kind: Kind): Promise<Sent> {
  const body = chatBody('chat', {
    messages: [{ role: 'user', content: `kind:${kind}` }],
    stream: kind !== 'json' && kind !== 'error',
  });
  const controller = new AbortController();
  const response = await postJson(`${url}/v1/chat/completions`, body, {}, controller.signal);
  if (kind === 'leaves') {
    await response.body?.getReader().read();
    controller.abort();
  } else {
    await response.arrayBuffer();
  }
  return { kind, status: response.status, id: response.headers.get('x-gw-request-id') ?? '' };
}

async function sendMany(
  url: string,
  count: number,
  concurrency: number,
  kindOf: (index: number) => Kind,
): Promise<Sent[]> {
  const sent: Sent[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const index = next++;
        sent.push(await send(url, kindOf(index)));
      }
    }),
  );
  return sent;
}

function gatewayConfig(scratch: ScratchDatabase, storageUrl = scratch.url, extra: Record<string, unknown> = {}) {
  return (upstream: { baseUrl: string }) => ({
    storage: { url: storageUrl, spillPath: join(scratch.folder, 'spill.jsonl'), flushIntervalMs: 50, ...extra },
    logging: { requests: false },
    providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
    models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
    retry: { maxRetries: 0 },
    breaker: { enabled: false },
  });
}

interface RowJson {
  request_id: string;
  status: string;
  http_status: number | null;
  error_kind: string | null;
  stream: boolean;
  input_tokens: number;
  output_tokens: number;
  cost_breakdown: { total: string } | null;
  estimated: boolean;
}

/** Every row of the ledger, newest first, read with the admin API page by page. */
async function allRows(url: string, status?: string): Promise<RowJson[]> {
  const rows: RowJson[] = [];
  let before: string | null = null;
  do {
    const query: string = `limit=1000${status === undefined ? '' : `&status=${status}`}${before === null ? '' : `&before=${before}`}`;
    const page = (await (await fetch(`${url}/admin/requests?${query}`)).json()) as {
      data: RowJson[];
      next: string | null;
    };
    rows.push(...page.data);
    before = page.next;
  } while (before !== null);
  return rows;
}

/** Rows in the ledger by status, read with the admin API (the status filter). */
async function countsByStatus(url: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const status of ['completed', 'failed', 'cancelled']) counts[status] = (await allRows(url, status)).length;
  return counts;
}

/** Exact decimal text (the ledger's `cost_breakdown`) as 10^-12 units. */
function units(text: string): bigint {
  const [whole = '0', fraction = ''] = text.split('.');
  return BigInt(whole) * 10n ** 12n + BigInt(fraction.padEnd(12, '0'));
}

let t: TestGateway | undefined;
let scratch: ScratchDatabase | undefined;
afterEach(async () => {
  await t?.close();
  await scratch?.drop();
  t = undefined;
  scratch = undefined;
});

for (const dialect of TEST_DIALECTS) {
  announceSkip(dialect, 'ledger through the gateway');
  describe.skipIf(dialect.skip !== undefined)(`the ledger through the gateway on ${dialect.dialect}`, () => {
    it('records 1,000 mixed requests, 20 at a time, as exactly 1,000 rows with their statuses', async () => {
      scratch = await dialect.create();
      t = await startTestGateway({ config: gatewayConfig(scratch) });
      t.upstream.setDefault(behaviourFor);
      const kindOf = (index: number): Kind => KINDS[index % KINDS.length] ?? 'json';
      const sent = await sendMany(t.url, 1000, 20, kindOf);
      expect(sent.filter((request) => request.status === 200)).toHaveLength(750);
      expect(sent.filter((request) => request.status === 502)).toHaveLength(250);
      const expected = { completed: 500, failed: 250, cancelled: 250 };
      const url = t.url;
      await waitFor(async () => JSON.stringify(await countsByStatus(url)) === JSON.stringify(expected), 15_000);
      expect(await countsByStatus(url)).toEqual(expected);

      // Each request is its own row (by the id its answer carried), with the end the client saw.
      const rows = new Map((await allRows(url)).map((row) => [row.request_id, row]));
      expect(rows.size).toBe(1000);
      // 12 prompt and 3 completion tokens at $0.15 / $0.60 per 1M: $0.0000036, exactly.
      const answered = { status: 'completed', http_status: 200, error_kind: null, estimated: false };
      const expectedRow: Record<Kind, Partial<RowJson>> = {
        json: {
          ...answered,
          stream: false,
          input_tokens: 12,
          output_tokens: 3,
          cost_breakdown: { total: '0.0000036' },
        },
        stream: {
          ...answered,
          stream: true,
          input_tokens: 12,
          output_tokens: 3,
          cost_breakdown: { total: '0.0000036' },
        },
        error: { status: 'failed', http_status: 502, stream: false, estimated: false },
        // Left mid-stream: no usage from the vendor, so the prompt and the text relayed are estimated and billed.
        leaves: { status: 'cancelled', http_status: 499, error_kind: 'cancelled', stream: true, estimated: true },
      };
      for (const request of sent) {
        expect(rows.get(request.id), `${request.kind} ${request.id}`).toMatchObject(expectedRow[request.kind]);
      }
      const cancelled = sent.filter((request) => request.kind === 'leaves').map((request) => rows.get(request.id));
      expect(cancelled.every((row) => row !== undefined && units(row.cost_breakdown?.total ?? '0') > 0n)).toBe(true);

      // The usage view sums the same rows, to the unit.
      const usage = (await (await fetch(`${t.url}/admin/usage?group_by=model`)).json()) as {
        currency: string;
        data: Array<{ model: string; requests: number; cost_exact: string }>;
      };
      expect(usage.currency).toBe('USD');
      const sum = [...rows.values()].reduce((total, row) => total + units(row.cost_breakdown?.total ?? '0'), 0n);
      expect(usage.data).toEqual([expect.objectContaining({ model: 'chat', requests: 1000 })]);
      expect(units(usage.data[0]?.cost_exact ?? '')).toBe(sum);
    }, 60_000);

    it.skipIf(dialect.dialect !== 'postgres')(
      'answers every request while the database is unreachable for 10 s under load, and writes every row after',
      async () => {
        scratch = await dialect.create();
        const outage = await outageOf(dialect.dialect, scratch);
        const sent: Sent[] = [];
        let stop = false;
        let load: Promise<unknown> | undefined;
        try {
          // A small buffer, so that the outage also goes through the spill file and its replay.
          t = await startTestGateway({ config: gatewayConfig(scratch, outage.url, { maxBuffered: 600 }) });
          t.upstream.setDefault(behaviourFor);
          const url = t.url;
          // Ten clients that never pause, from before the outage until after it.
          load = Promise.all(
            Array.from({ length: 10 }, async (_, worker) => {
              for (let index = 0; !stop; index += 1)
                sent.push(await send(url, (index + worker) % 2 ? 'stream' : 'json'));
            }),
          );
          await waitFor(() => sent.length >= 200, 10_000);
          await outage.start();
          const atStart = sent.length;
          await new Promise((resolve) => setTimeout(resolve, 10_000));
          const duringOutage = sent.length - atStart;
          await outage.end();
          const atEnd = sent.length;
          await waitFor(() => sent.length >= atEnd + 200, 10_000);
          stop = true;
          await load;

          expect(duringOutage).toBeGreaterThan(600);
          expect(sent.filter((request) => request.status !== 200)).toEqual([]);
          await waitFor(async () => (await countsByStatus(url))['completed'] === sent.length, 30_000);
          expect(await countsByStatus(url)).toEqual({ completed: sent.length, failed: 0, cancelled: 0 });
          const ids = new Set((await allRows(url)).map((row) => row.request_id));
          expect(sent.filter((request) => !ids.has(request.id))).toEqual([]);
          expect(t.logs.some((line) => line.includes('rows spilled to the local file'))).toBe(true);
          expect(t.logs.some((line) => line.includes('spilled rows replayed'))).toBe(true);
        } finally {
          stop = true;
          await load?.catch(() => undefined);
          await outage.close();
        }
      },
      90_000,
    );

    it('writes every row of requests answered before SIGTERM, under load', async () => {
      scratch = await dialect.create();
      const upstream = await startStandInUpstream();
      upstream.setDefault(behaviourFor);
      const configPath = join(scratch.folder, 'gateway.yaml');
      writeFileSync(
        configPath,
        JSON.stringify({
          server: { drainTimeoutMs: 10_000 },
          logging: { level: 'error', requests: false },
          storage: { url: scratch.url, spillPath: join(scratch.folder, 'spill.jsonl'), flushIntervalMs: 5000 },
          providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
          models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
        }),
      );
      const main = fileURLToPath(new URL('../main.ts', import.meta.url));
      const child = spawn(process.execPath, ['--conditions=@gw/source', main], {
        env: { PATH: process.env['PATH'] ?? '', GW_CONFIG: configPath, PORT: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      try {
        let stdout = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        await waitFor(() => /listening on http/.test(stdout), 15_000);
        const url = /listening on (http:\/\/\S+)/.exec(stdout)?.[1] ?? '';
        let answered = 0;
        let stop = false;
        const workers = Array.from({ length: 10 }, async (_, worker) => {
          for (let index = 0; !stop; index += 1) {
            try {
              const { status } = await send(url, (index + worker) % 2 === 0 ? 'json' : 'stream');
              if (status === 200) answered += 1;
            } catch {
              // Refused once the gateway stopped listening: such a request never reached routing.
              return;
            }
          }
        });
        await waitFor(() => answered >= 200, 15_000);
        child.kill('SIGTERM');
        const [code] = (await once(child, 'exit')) as [number | null];
        stop = true;
        await Promise.all(workers);
        expect(code).toBe(0);
        const database = await openLedgerDatabase(scratch.url, { migrate: false });
        try {
          const queries = createLedgerQueries(database);
          const [group] = await queries.usage({ groupBy: 'model' });
          // Every answered request is a row; flushIntervalMs is 5 s, so most were still buffered at SIGTERM.
          expect(group?.requests).toBe(answered);
        } finally {
          await database.close();
        }
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        await upstream.close();
      }
    }, 60_000);
  });
}
