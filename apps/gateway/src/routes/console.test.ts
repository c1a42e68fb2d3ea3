import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@gw/test-kit';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedgerDatabase } from '../ledger/ledger-database.ts';
import { insertRows } from '../ledger/ledger-records.ts';
import { ledgerRow } from '../ledger/test-helpers.ts';
import { chatBody, gatewayPerTest, postJson, testDirectory, TEST_VENDOR_KEY } from '../test-helpers.ts';
import { findConsoleDir } from './console.ts';

const CONSOLE_DIR = fileURLToPath(new URL('../../../console/dist', import.meta.url));
const DOCS_DIR = fileURLToPath(new URL('../../../../docs/console', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const MASTER_KEY = 'console-e2e-master-key-0123456789';
const admin = { authorization: `Bearer ${MASTER_KEY}` };
// GW_SCREENSHOTS=1 writes each page to docs/console/*.png (committed; CI leaves them alone).
const SCREENSHOTS = process.env['GW_SCREENSHOTS'] === '1';

const start = gatewayPerTest();

function startConsoleGateway(storageUrl = 'sqlite::memory:') {
  return start({
    consoleDir: CONSOLE_DIR,
    config: (upstream) => ({
      auth: { masterKey: MASTER_KEY },
      storage: { url: storageUrl, flushIntervalMs: 20 },
      providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
      models: [
        { name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] },
        { name: 'mini', targets: [{ provider: 'up', model: 'gpt-4.1-mini' }] },
      ],
      retry: { maxRetries: 0 },
      breaker: { enabled: false },
    }),
  });
}

beforeAll(() => {
  // CI builds before it tests; a bare `vitest run` builds the console here.
  if (!existsSync(join(CONSOLE_DIR, 'index.html'))) {
    execFileSync('pnpm', ['--filter', '@gw/console', 'build'], { stdio: 'ignore', timeout: 120_000 });
  }
}, 150_000);

describe('the console’s static files', () => {
  it('are served at /console without a key, pages fall back to index.html, and missing assets are a 404', async () => {
    const t = await startConsoleGateway();
    const root = await fetch(`${t.url}/console`, { redirect: 'manual' });
    expect(root.status).toBe(301);
    expect(root.headers.get('location')).toBe('/console/');

    const index = await fetch(`${t.url}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const html = await index.text();
    expect(html).toContain('<div id="app">');

    // A reload on a page of the app gets the app.
    const page = await fetch(`${t.url}/console/keys`);
    expect(page.status).toBe(200);
    expect(await page.text()).toBe(html);

    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${t.url}${script ?? ''}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('javascript');
    expect(asset.headers.get('cache-control')).toContain('immutable');

    const missing = await fetch(`${t.url}/console/assets/nope.js`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'unknown_route' } });
    // The data is not: the admin API still wants the master key.
    expect((await fetch(`${t.url}/admin/usage/timeseries`)).status).toBe(401);
  });

  it('is found next to the gateway, in GW_CONSOLE_DIR, or not at all', () => {
    expect(findConsoleDir({})).toBe(CONSOLE_DIR);
    expect(findConsoleDir({ GW_CONSOLE_DIR: 'off' })).toBeUndefined();
    const empty = join(testDirectory(), 'no-console');
    mkdirSync(empty, { recursive: true });
    expect(findConsoleDir({ GW_CONSOLE_DIR: empty })).toBeUndefined();
    writeFileSync(join(empty, 'index.html'), '<!doctype html>');
    expect(findConsoleDir({ GW_CONSOLE_DIR: empty })).toBe(empty);
  });
});

const noBrowser = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install chromium)`;
if (noBrowser !== undefined) console.warn(`console e2e skipped: ${noBrowser}`);

describe.skipIf(noBrowser !== undefined)('the console in a browser', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  async function shoot(page: Page, name: string): Promise<void> {
    if (!SCREENSHOTS) return;
    mkdirSync(DOCS_DIR, { recursive: true });
    await page.screenshot({ path: join(DOCS_DIR, `${name}.png`), fullPage: true });
  }

  async function seedHistory(storageUrl: string): Promise<number> {
    // A day of earlier traffic, so the charts have a shape: every hour, a few requests to two models, some failed.
    const database = await openLedgerDatabase(storageUrl);
    const rows = [];
    const now = Date.now();
    for (let hour = 23; hour >= 1; hour--) {
      const count = 2 + ((hour * 7) % 5);
      for (let index = 0; index < count; index++) {
        const failed = (hour + index) % 9 === 0;
        rows.push(
          ledgerRow({
            createdAt: new Date(now - hour * 3_600_000 + index * 60_000),
            model: index % 3 === 0 ? 'mini' : 'chat',
            provider: 'up',
            apiKeyId: null,
            latencyMs: 400 + ((hour * 37 + index * 91) % 900),
            ttftMs: 80 + ((hour * 13 + index * 29) % 200),
            ...(failed ? { status: 'failed' as const, httpStatus: 502, errorKind: 'server', cost: null } : {}),
          }),
        );
      }
    }
    await insertRows(database, rows);
    await database.close();
    return rows.length;
  }

  it('opens without sign-in when the gateway has no master key, says so, and says what to do while empty', async () => {
    const t = await start({ consoleDir: CONSOLE_DIR });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${t.url}/console/`);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(await page.textContent('header')).toContain('open dev mode');
    await page.getByText('No requests in the last 24 hours').waitFor();
    // A page's own address works on a reload.
    await page.goto(`${t.url}/console/keys`);
    await page.getByRole('heading', { name: 'Keys' }).waitFor();
    await page.getByText('No virtual keys yet').waitFor();
    await page.close();
  });

  it('signs in, shows requests sent through the gateway in the table and the chart, and manages a key to its 401', async () => {
    const storageUrl = `sqlite://${join(testDirectory(), `console-${Date.now()}.db`)}`;
    const seeded = await seedHistory(storageUrl);
    const t = await startConsoleGateway(storageUrl);
    t.upstream.setDefault({ type: 'chat', usage: { prompt_tokens: 1000, completion_tokens: 200 } });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.on('dialog', (dialog) => void dialog.accept());

    // Sign-in: a wrong key is refused with a message that says which key to use.
    await page.goto(`${t.url}/console/`);
    await shoot(page, 'sign-in');
    await page.fill('input[name="master-key"]', 'not-the-key');
    await page.click('button[type="submit"]');
    await page.getByText('That is not the master key').waitFor();
    await page.fill('input[name="master-key"]', MASTER_KEY);
    await page.click('button[type="submit"]');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();

    // Requests through the gateway: three answered, one failed upstream.
    for (const model of ['chat', 'mini', 'chat']) {
      const response = await postJson(`${t.url}/v1/chat/completions`, chatBody(model), admin);
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
    t.upstream.enqueue({ type: 'error', status: 500 });
    await (await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'), admin)).arrayBuffer();
    const total = seeded + 4;
    await waitFor(async () => {
      const answer = (await (await fetch(`${t.url}/admin/usage?group_by=model`, { headers: admin })).json()) as {
        data: Array<{ requests: number }>;
      };
      return answer.data.reduce((sum, group) => sum + group.requests, 0) === total;
    }, 5000);

    // Overview: the totals count them, and the charts are drawn (uPlot canvases).
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(() => page.textContent('[data-total="requests"] strong')).toBe(String(total));
    expect(await page.locator('[data-chart="Requests"] canvas').count()).toBeGreaterThan(0);
    expect(await page.textContent('[data-chart="Requests"] .u-legend')).toContain('chat');
    expect(await page.textContent('.columns')).toContain('mini');
    await shoot(page, 'overview');
    await page.setViewportSize({ width: 390, height: 844 });
    await shoot(page, 'overview-narrow');
    await page.setViewportSize({ width: 1280, height: 900 });

    // Requests: the newest first, the failure marked, its detail one click away.
    await page.getByRole('link', { name: 'Requests' }).click();
    const rows = page.locator('table.requests tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(25);
    expect(await rows.first().textContent()).toContain('failed');
    await page.selectOption('select[name="status"]', 'completed');
    await page.fill('input[name="model"]', 'mini');
    await page.getByRole('button', { name: 'Apply' }).click();
    const filtered = (await (
      await fetch(`${t.url}/admin/requests?model=mini&status=completed&limit=25`, { headers: admin })
    ).json()) as { data: unknown[] };
    expect(filtered.data.length).toBeGreaterThan(1);
    await expect
      .poll(async () =>
        (await rows.allTextContents()).every((text) => text.includes('mini') && text.includes('completed')),
      )
      .toBe(true);
    expect(await rows.count()).toBe(filtered.data.length);
    await rows.first().click();
    const detail = page.getByRole('complementary', { name: 'Request detail' });
    await detail.getByText('Cached input').waitFor();
    expect(await detail.textContent()).toContain('gpt-4.1-mini');
    await shoot(page, 'requests');

    // Keys: create one (the secret shown once), use it, revoke it, and it is refused.
    await page.getByRole('link', { name: 'Keys' }).click();
    await page.getByText('No virtual keys yet').waitFor();
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.fill('form[aria-label="New key"] input[name="name"]', 'e2e-team');
    await page.fill('form[aria-label="New key"] input[name="budget"]', '5');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const secret = await page.locator('#new-secret').inputValue();
    expect(secret).toMatch(/^sk-/);
    const used = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'), {
      authorization: `Bearer ${secret}`,
    });
    expect(used.status).toBe(200);
    await used.arrayBuffer();
    await page.getByRole('button', { name: 'Done' }).click();
    const keyRow = page.locator('table.keys tbody tr', { hasText: 'e2e-team' });
    await keyRow.waitFor();
    // The budget bar: what the key spent of its $5.
    await expect.poll(async () => (await keyRow.textContent()) ?? '').toContain('$5.00');
    await keyRow.getByRole('button', { name: 'Edit' }).click();
    await page.fill('input[name="rpm"]', '60');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(async () => (await keyRow.textContent()) ?? '').toContain('60 /');
    await shoot(page, 'keys');
    await keyRow.getByRole('button', { name: 'Revoke' }).click();
    await keyRow.getByText('revoked').waitFor();
    const refused = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'), {
      authorization: `Bearer ${secret}`,
    });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { type: 'authentication_error' } });

    // Providers: the deployment's state, a test call and a live concurrency change.
    await page.getByRole('link', { name: 'Providers & health' }).click();
    const provider = page.locator('[data-provider="up"]');
    await provider.waitFor();
    expect(await provider.textContent()).toContain('gpt-4o-mini');
    await provider.getByRole('button', { name: 'Test' }).click();
    await page.getByText('up answered in').waitFor();
    await provider.locator('input[name="cap-up"]').fill('2');
    await provider.getByRole('button', { name: 'Set' }).click();
    await page.getByText('up: at most 2 calls at once.').waitFor();
    const queues = (await (await fetch(`${t.url}/admin/queues`, { headers: admin })).json()) as {
      data: Array<{ provider: string; max_concurrency: number }>;
    };
    expect(queues.data).toContainEqual(expect.objectContaining({ provider: 'up', max_concurrency: 2 }));
    await shoot(page, 'providers');

    // Signing out forgets the key: the next load asks for it again.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.reload();
    await page.locator('input[name="master-key"]').waitFor();
    await context.close();
    expect(readdirSync(CONSOLE_DIR)).toContain('index.html');
  }, 60_000);
});
