// Files and batches through a running gateway, driven by the openai SDK against the stand-in upstream: a batch runs
// through the deployment's queue at its max concurrency, every line one ledger row; keys see their own batches and
// their model list applies per line; bad files are refused by line; a failed line is requeued by the admin API.
import { join } from 'node:path';
import type { RecordedRequest } from '@gw/providers/testing';
import { waitFor } from '@gw/test-kit';
import { sql } from 'kysely';
import OpenAI, { toFile } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { openLedgerDatabase } from '../ledger/ledger-database.ts';
import { startTestGateway, TEST_VENDOR_KEY, testDirectory, type TestGateway } from '../test-helpers.ts';
import { randomUUID } from 'node:crypto';

const MASTER_KEY = 'gw-master-key-batches-test-0123456789';
const MASTER = { authorization: `Bearer ${MASTER_KEY}` };

interface Line {
  custom_id: string;
  method: 'POST';
  url: string;
  body: Record<string, unknown>;
}

function chatLine(customId: string, content: string, model = 'chat'): Line {
  return {
    custom_id: customId,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model, messages: [{ role: 'user', content }] },
  };
}

function jsonl(lines: readonly unknown[]): string {
  return lines.map((line) => JSON.stringify(line)).join('\n');
}

/** The user message of a request the stand-in received. */
function promptOf(request: RecordedRequest): string {
  const body = request.body as { messages?: Array<{ content?: string }> } | undefined;
  return body?.messages?.at(-1)?.content ?? '';
}

let current: TestGateway | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

async function start(
  options: { maxConcurrency?: number; batches?: Record<string, unknown>; extra?: Record<string, unknown> } = {},
) {
  const url = `sqlite://${join(testDirectory(), `batches-${randomUUID()}.db`)}`;
  current = await startTestGateway({
    config: (upstream) => ({
      auth: { masterKey: MASTER_KEY },
      storage: { url, spillPath: join(testDirectory(), `spill-${randomUUID()}.jsonl`), flushIntervalMs: 20 },
      logging: { requests: false },
      providers: [
        {
          id: 'up',
          kind: 'openai',
          apiKey: TEST_VENDOR_KEY,
          baseUrl: upstream.baseUrl,
          ...(options.maxConcurrency === undefined ? {} : { maxConcurrency: options.maxConcurrency }),
        },
      ],
      models: [
        { name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] },
        { name: 'other', targets: [{ provider: 'up', model: 'gpt-4o' }] },
      ],
      retry: { maxRetries: 0 },
      breaker: { enabled: false },
      batches: { pollMs: 50, ...options.batches },
      ...options.extra,
    }),
  });
  const gateway = current;
  const clientFor = (apiKey: string) => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey, maxRetries: 0 });
  return { gateway, url, client: clientFor(MASTER_KEY), clientFor };
}

async function untilDone(client: OpenAI, id: string): Promise<OpenAI.Batches.Batch> {
  let batch = await client.batches.retrieve(id);
  await waitFor(async () => {
    batch = await client.batches.retrieve(id);
    return ['completed', 'failed', 'cancelled', 'expired'].includes(batch.status);
  }, 60_000);
  return batch;
}

async function fileLines(client: OpenAI, id: string | null | undefined): Promise<Array<Record<string, unknown>>> {
  if (id == null) return [];
  const text = await (await client.files.content(id)).text();
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function createKey(url: string, settings: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${url}/admin/keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...MASTER },
    body: JSON.stringify(settings),
  });
  expect(response.status).toBe(201);
  return String(((await response.json()) as { key: string }).key);
}

describe('batches through the openai SDK', () => {
  it('runs a 200-line batch one line at a time on a deployment at max concurrency 1, one ledger row per line', async () => {
    const { gateway, url, client } = await start({ maxConcurrency: 1, batches: { concurrency: 8 } });
    gateway.upstream.setDefault({ type: 'chat', delayMs: 2 });
    const lines = Array.from({ length: 200 }, (_, index) => chatLine(`task-${index}`, `question ${index}`));
    const file = await client.files.create({
      file: await toFile(Buffer.from(jsonl(lines)), 'input.jsonl'),
      purpose: 'batch',
    });
    expect(file).toMatchObject({ object: 'file', purpose: 'batch', filename: 'input.jsonl', status: 'processed' });
    expect(await client.files.retrieve(file.id)).toMatchObject({ id: file.id, bytes: file.bytes });

    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      metadata: { job: 'nightly' },
    });
    expect(created).toMatchObject({ object: 'batch', status: 'validating', metadata: { job: 'nightly' } });
    const done = await untilDone(client, created.id);
    expect(done).toMatchObject({ status: 'completed', request_counts: { total: 200, completed: 200, failed: 0 } });
    expect(done.error_file_id).toBeNull();
    expect(done.in_progress_at).not.toBeNull();
    expect(done.completed_at).not.toBeNull();

    const output = await fileLines(client, done.output_file_id);
    expect(output.map((line) => line['custom_id']).sort()).toEqual(lines.map((line) => line.custom_id).sort());
    // Each answer is the one to its own line.
    for (const line of output) {
      const response = line['response'] as { status_code: number; request_id: string; body: { choices: unknown[] } };
      expect(response.status_code).toBe(200);
      expect(JSON.stringify(response.body)).toContain(`question ${String(line['custom_id']).slice('task-'.length)}`);
      expect(line['error']).toBeNull();
    }
    expect(gateway.upstream.requests).toHaveLength(200);
    expect(gateway.upstream.peakInFlight).toBe(1);

    const database = await openLedgerDatabase(url, { migrate: false });
    try {
      const { rows } = await sql<{ request_id: string; status: string }>`
        select ledger.request_id, ledger.status from ledger join batch_requests using (request_id)
        where batch_id = ${created.id}`.execute(database.db);
      expect(rows).toHaveLength(200);
      expect(new Set(rows.map((row) => row.request_id))).toEqual(
        new Set(output.map((line) => (line['response'] as { request_id: string }).request_id)),
      );
      expect(rows.every((row) => row.status === 'completed')).toBe(true);
    } finally {
      await database.close();
    }
  });

  it('lets live traffic through first: a live call waits behind no more than the line already running', async () => {
    const { gateway, client } = await start({ maxConcurrency: 1, batches: { concurrency: 20 } });
    gateway.upstream.setDefault({ type: 'chat', delayMs: 20 });
    const lines = Array.from({ length: 20 }, (_, index) => chatLine(`task-${index}`, `batch ${index}`));
    const file = await client.files.create({
      file: await toFile(Buffer.from(jsonl(lines)), 'in.jsonl'),
      purpose: 'batch',
    });
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    await waitFor(() => gateway.upstream.requests.length >= 2, 10_000);
    const before = gateway.upstream.requests.length;
    await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'live call' }] });
    expect((await untilDone(client, batch.id)).status).toBe('completed');
    const order = gateway.upstream.requests.map(promptOf);
    expect(order).toHaveLength(21);
    // Eighteen lines or so were waiting in the deployment's queue when the live call came: it went first (the line
    // running then, and at most one that started in the moment the call took to arrive, went before it).
    expect(order.indexOf('live call')).toBeLessThanOrEqual(before + 1);
  });

  it('keeps a batch to the key that created it, and applies its model list line by line', async () => {
    const { gateway, clientFor } = await start();
    const mine = clientFor(await createKey(gateway.url, { name: 'mine', models: ['chat'] }));
    const theirs = clientFor(await createKey(gateway.url, { name: 'theirs' }));
    const file = await mine.files.create({
      file: await toFile(Buffer.from(jsonl([chatLine('ok', 'fine'), chatLine('denied', 'nope', 'other')])), 'in.jsonl'),
      purpose: 'batch',
    });
    await expect(theirs.files.retrieve(file.id)).rejects.toMatchObject({ status: 404 });
    await expect(
      theirs.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
    ).rejects.toMatchObject({ status: 404 });
    const batch = await mine.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    await expect(theirs.batches.retrieve(batch.id)).rejects.toMatchObject({ status: 404 });
    expect((await theirs.batches.list()).data).toEqual([]);
    const done = await untilDone(mine, batch.id);
    expect(done).toMatchObject({ status: 'completed', request_counts: { total: 2, completed: 1, failed: 1 } });
    const errors = await fileLines(mine, done.error_file_id);
    expect(errors).toEqual([
      expect.objectContaining({
        custom_id: 'denied',
        response: expect.objectContaining({
          status_code: 403,
          body: { error: expect.objectContaining({ code: 'model_not_allowed' }) as unknown },
        }) as unknown,
        error: null,
      }),
    ]);
    // The denied line never reached the upstream.
    expect(gateway.upstream.requests.map(promptOf)).toEqual(['fine']);
    expect((await mine.batches.list()).data.map((listed) => listed.id)).toEqual([batch.id]);
    await expect(theirs.files.delete(file.id)).rejects.toMatchObject({ status: 404 });
    expect(await mine.files.delete(file.id)).toMatchObject({ id: file.id, deleted: true });
  });

  it('holds the lines to the key’s budget: once it cannot hold a line’s worst case, the rest fail with 402 unsent', async () => {
    const { gateway, clientFor } = await start({
      batches: { concurrency: 1 },
      // $1 per 1,000 tokens: a line costs under a cent, its worst case (max_tokens 10) a few.
      extra: { pricing: { models: { 'up/gpt-4o-mini': { input: 1000, output: 1000 } } } },
    });
    const client = clientFor(await createKey(gateway.url, { name: 'budget', budget: { amount: 0.08, period: 'day' } }));
    const lines = Array.from({ length: 10 }, (_, index) => {
      const line = chatLine(`l${index}`, 'Say hello');
      line.body['max_tokens'] = 10;
      return line;
    });
    const file = await client.files.create({
      file: await toFile(Buffer.from(jsonl(lines)), 'in.jsonl'),
      purpose: 'batch',
    });
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const done = await untilDone(client, batch.id);
    const { completed, failed } = done.request_counts ?? { completed: 0, failed: 0 };
    expect(completed).toBeGreaterThan(0);
    expect(failed).toBeGreaterThan(0);
    expect(completed + failed).toBe(10);
    const errors = await fileLines(client, done.error_file_id);
    expect(errors.map((line) => (line['response'] as { status_code: number }).status_code)).toEqual(
      Array.from({ length: failed }, () => 402),
    );
    // The refused lines never reached the upstream.
    expect(gateway.upstream.requests).toHaveLength(completed);
  });

  it('fails a line whose body is not a valid request (or asks for a stream) alone, and the rest of the batch runs', async () => {
    const { gateway, client } = await start();
    const bad = { custom_id: 'bad', method: 'POST', url: '/v1/chat/completions', body: { model: 'chat' } };
    const streamed = chatLine('streamed', 'stream me');
    streamed.body['stream'] = true;
    const file = await client.files.create({
      file: await toFile(Buffer.from(jsonl([chatLine('good', 'hello'), bad, streamed])), 'in.jsonl'),
      purpose: 'batch',
    });
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const done = await untilDone(client, batch.id);
    expect(done.request_counts).toEqual({ total: 3, completed: 1, failed: 2 });
    expect(await fileLines(client, done.error_file_id)).toEqual([
      expect.objectContaining({ custom_id: 'bad', response: expect.objectContaining({ status_code: 400 }) as unknown }),
      expect.objectContaining({
        custom_id: 'streamed',
        response: expect.objectContaining({
          status_code: 400,
          body: { error: expect.objectContaining({ code: 'stream_not_supported' }) as unknown },
        }) as unknown,
      }),
    ]);
    expect(gateway.upstream.requests.map(promptOf)).toEqual(['hello']);
  });

  it('runs an embeddings batch', async () => {
    const { client } = await start();
    const lines = ['one', 'two'].map((input) => ({
      custom_id: input,
      method: 'POST',
      url: '/v1/embeddings',
      body: { model: 'chat', input },
    }));
    const file = await client.files.create({
      file: await toFile(Buffer.from(jsonl(lines)), 'in.jsonl'),
      purpose: 'batch',
    });
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/embeddings',
      completion_window: '24h',
    });
    const done = await untilDone(client, batch.id);
    expect(done.request_counts).toEqual({ total: 2, completed: 2, failed: 0 });
    const output = await fileLines(client, done.output_file_id);
    expect(output.map((line) => line['custom_id'])).toEqual(['one', 'two']);
    expect(output[0]).toMatchObject({ response: { status_code: 200, body: { object: 'list' } } });
  });

  it('refuses malformed files by line number, other purposes, files over the size limit and batches whose lines disagree', async () => {
    const { gateway, client } = await start({ batches: { maxFileBytes: 2000, maxLines: 3 } });
    const upload = (text: string, purpose = 'batch') =>
      client.files.create({ file: new File([text], 'in.jsonl'), purpose: purpose as 'batch' });
    await expect(upload(`${JSON.stringify(chatLine('a', 'x'))}\n{not json`)).rejects.toMatchObject({
      status: 400,
      error: { code: 'invalid_batch_line', message: 'Line 2 of the batch file: not valid JSON.' },
    });
    await expect(
      upload(jsonl([chatLine('a', 'x'), { custom_id: 'b', method: 'GET', url: '/v1/chat/completions', body: {} }])),
    ).rejects.toMatchObject({
      status: 400,
      error: {
        code: 'invalid_batch_line',
        message: expect.stringContaining('Line 2 of the batch file: method') as unknown,
      },
    });
    await expect(upload(jsonl([chatLine('a', 'x'), chatLine('a', 'y')]))).rejects.toMatchObject({
      status: 400,
      error: { message: 'Line 2 of the batch file: custom_id "a" is already used on line 1.' },
    });
    await expect(
      upload(jsonl([chatLine('a', 'x'), chatLine('b', 'x'), chatLine('c', 'x'), chatLine('d', 'x')])),
    ).rejects.toMatchObject({
      status: 400,
      error: { code: 'too_many_batch_lines' },
    });
    await expect(upload(jsonl([chatLine('a', 'x')]), 'fine-tune')).rejects.toMatchObject({
      status: 400,
      error: { code: 'invalid_purpose', param: 'purpose' },
    });
    await expect(upload(jsonl([chatLine('a', 'x'.repeat(3000))]))).rejects.toMatchObject({ status: 413 });
    const embeddingLine = {
      custom_id: 'e',
      method: 'POST',
      url: '/v1/embeddings',
      body: { model: 'chat', input: 'x' },
    };
    const mixed = await upload(jsonl([chatLine('a', 'x'), embeddingLine]));
    await expect(
      client.batches.create({ input_file_id: mixed.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
    ).rejects.toMatchObject({
      status: 400,
      error: { message: expect.stringContaining('Line 2 of the input file') as unknown },
    });
    await expect(
      client.batches.create({
        input_file_id: mixed.id,
        endpoint: '/v1/chat/completions',
        completion_window: '48h' as '24h',
      }),
    ).rejects.toMatchObject({ status: 400, error: { param: 'completion_window' } });
    await expect(client.batches.retrieve('batch_nope')).rejects.toMatchObject({ status: 404 });
    expect(gateway.upstream.requests).toHaveLength(0);
  });

  it('retries a line that got a retryable answer, and requeues a failed one through the admin API until it succeeds', async () => {
    const { gateway, client } = await start({ batches: { maxAttempts: 2 } });
    let failFlaky = true;
    let overloadedOnce = true;
    gateway.upstream.setDefault((request) => {
      const prompt = promptOf(request);
      if (prompt === 'flaky' && failFlaky) return { type: 'error', status: 400 };
      if (prompt === 'busy' && overloadedOnce) {
        overloadedOnce = false;
        return { type: 'error', status: 503, headers: { 'retry-after': '0' } };
      }
      return { type: 'chat' };
    });
    const file = await client.files.create({
      file: await toFile(
        Buffer.from(jsonl([chatLine('a', 'steady'), chatLine('b', 'flaky'), chatLine('c', 'busy')])),
        'in.jsonl',
      ),
      purpose: 'batch',
    });
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const first = await untilDone(client, batch.id);
    expect(first.request_counts).toEqual({ total: 3, completed: 2, failed: 1 });
    expect((await fileLines(client, first.error_file_id)).map((line) => line['custom_id'])).toEqual(['b']);
    // The 503 was run again: two calls for "busy".
    expect(gateway.upstream.requests.map(promptOf).filter((prompt) => prompt === 'busy')).toHaveLength(2);

    const admin = (path: string) => fetch(`${gateway.url}/admin${path}`, { method: 'POST', headers: MASTER });
    expect((await admin(`/batches/${batch.id}/lines/a/retry`)).status).toBe(409);
    expect((await admin(`/batches/${batch.id}/lines/zzz/retry`)).status).toBe(404);
    expect((await admin(`/batches/batch_nope/retry`)).status).toBe(404);
    failFlaky = false;
    const retried = await admin(`/batches/${batch.id}/lines/b/retry`);
    expect(retried.status).toBe(200);
    expect(await retried.json()).toMatchObject({ requeued: 1, batch: { status: 'in_progress' } });
    const second = await untilDone(client, batch.id);
    expect(second).toMatchObject({ status: 'completed', request_counts: { total: 3, completed: 3, failed: 0 } });
    expect(second.error_file_id).toBeNull();
    expect((await fileLines(client, second.output_file_id)).map((line) => line['custom_id'])).toEqual(['a', 'b', 'c']);
    // The old error file is gone.
    await expect(client.files.retrieve(first.error_file_id ?? '')).rejects.toMatchObject({ status: 404 });

    const listed = await fetch(`${gateway.url}/admin/batches`, { headers: MASTER });
    expect(await listed.json()).toMatchObject({
      data: [{ id: batch.id, status: 'completed', progress: 1, api_key_id: null }],
    });
  });

  it('asks for a key, and names the methods a batch path allows', async () => {
    const { gateway } = await start();
    expect((await fetch(`${gateway.url}/v1/batches`)).status).toBe(401);
    const wrong = await fetch(`${gateway.url}/v1/batches`, { method: 'PUT', headers: MASTER });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, HEAD, POST');
    const listed = await fetch(`${gateway.url}/v1/batches?limit=0`, { headers: MASTER });
    expect(listed.status).toBe(400);
  });

  it('cancels a batch: lines not started are cancelled and land in the error file', async () => {
    const { gateway, client } = await start({ maxConcurrency: 1, batches: { concurrency: 1 } });
    gateway.upstream.setDefault({ type: 'chat', delayMs: 100 });
    const lines = Array.from({ length: 10 }, (_, index) => chatLine(`t${index}`, `q${index}`));
    const file = await client.files.create({
      file: await toFile(Buffer.from(jsonl(lines)), 'in.jsonl'),
      purpose: 'batch',
    });
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    await waitFor(() => gateway.upstream.requests.length >= 1, 10_000);
    expect(await client.batches.cancel(batch.id)).toMatchObject({ status: 'cancelling' });
    const done = await untilDone(client, batch.id);
    expect(done.status).toBe('cancelled');
    expect(done.cancelled_at).not.toBeNull();
    const answered = gateway.upstream.requests.length;
    expect(done.request_counts).toEqual({ total: 10, completed: answered, failed: 10 - answered });
    const errors = await fileLines(client, done.error_file_id);
    expect(errors).toHaveLength(10 - answered);
    expect(errors[0]).toMatchObject({ response: null, error: { code: 'batch_cancelled' } });
    await expect(client.batches.cancel(batch.id)).resolves.toMatchObject({ status: 'cancelled' });
  });
});
