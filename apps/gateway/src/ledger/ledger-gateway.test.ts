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

/** One request of `kind`; resolves once the client is done with it (read, or left mid-stream). */
async function send(url: string, kind: Kind): Promise<number> {
  const body = chatBody('chat', {
    messages: [{ role: 'user', content: `kind:${kind}` }],
    stream: kind !== 'json' && kind !== 'error',
  });
  if (kind !== 'leaves') {
    const response = await postJson(`${url}/v1/chat/completions`, body);
    await response.arrayBuffer();
    return response.status;
  }
  const controller = new AbortController();
  const response = await postJson(`${url}/v1/chat/completions`, body, {}, controller.signal);
  await response.body?.getReader().read();
  controller.abort();
  return response.status;
}

async function sendMany(
  url: string,
  count: number,
  concurrency: number,
  kindOf: (index: number) => Kind,
): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const index = next++;
        statuses.push(await send(url, kindOf(index)));
      }
    }),
  );
  return statuses;
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

/** Rows in the ledger by status, read with the admin API. */
async function countsByStatus(url: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const status of ['completed', 'failed', 'cancelled']) {
    let total = 0;
    let before: string | null = null;
    do {
      const query: string = `status=${status}&limit=1000${before === null ? '' : `&before=${before}`}`;
      const page = (await (await fetch(`${url}/admin/requests?${query}`)).json()) as {
        data: unknown[];
        next: string | null;
      };
      total += page.data.length;
      before = page.next;
    } while (before !== null);
    counts[status] = total;
  }
  return counts;
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
      const statuses = await sendMany(t.url, 1000, 20, kindOf);
      expect(statuses.filter((status) => status === 200)).toHaveLength(750);
      expect(statuses.filter((status) => status === 502)).toHaveLength(250);
      const expected = { completed: 500, failed: 250, cancelled: 250 };
      const url = t.url;
      await waitFor(async () => JSON.stringify(await countsByStatus(url)) === JSON.stringify(expected), 15_000);
      expect(await countsByStatus(url)).toEqual(expected);
      // The usage view sums the same rows: 500 priced answers of 12 + 3 tokens at $0.15 / $0.60 per 1M.
      const usage = (await (await fetch(`${t.url}/admin/usage?group_by=model`)).json()) as {
        currency: string;
        data: Array<{ model: string; requests: number; cost_exact: string }>;
      };
      expect(usage.currency).toBe('USD');
      const chat = usage.data.find((group) => group.model === 'chat');
      expect(chat?.requests).toBe(1000);
    }, 60_000);

    it.skipIf(dialect.dialect !== 'postgres')(
      'answers every request while the database is unreachable for 10 s, and writes every row after',
      async () => {
        scratch = await dialect.create();
        const outage = await outageOf(dialect.dialect, scratch);
        try {
          t = await startTestGateway({ config: gatewayConfig(scratch, outage.url, { maxBuffered: 600 }) });
          t.upstream.setDefault(behaviourFor);
          const load = sendMany(t.url, 1200, 10, (index) => (index % 2 === 0 ? 'json' : 'stream'));
          await new Promise((resolve) => setTimeout(resolve, 500));
          await outage.start();
          await new Promise((resolve) => setTimeout(resolve, 10_000));
          await outage.end();
          const statuses = await load;
          expect(statuses.every((status) => status === 200)).toBe(true);
          const url = t.url;
          await waitFor(async () => (await countsByStatus(url))['completed'] === 1200, 30_000);
          expect(await countsByStatus(url)).toEqual({ completed: 1200, failed: 0, cancelled: 0 });
        } finally {
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
              const status = await send(url, (index + worker) % 2 === 0 ? 'json' : 'stream');
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
