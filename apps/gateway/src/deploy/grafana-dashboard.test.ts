// deploy/grafana/gw-dashboard.json against a real gateway's /metrics: every metric a query names exists, and every
// label it filters or groups by is one those metrics carry (or one Prometheus adds when it scrapes).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { chatBody, gatewayPerTest, postJson, TEST_VENDOR_KEY } from '../test-helpers.ts';

const dashboardPath = fileURLToPath(new URL('../../../../deploy/grafana/gw-dashboard.json', import.meta.url));

const panelSchema = z.object({
  title: z.string(),
  type: z.string(),
  targets: z.array(z.object({ expr: z.string() })).optional(),
});
const dashboardSchema = z.object({
  uid: z.string(),
  title: z.string(),
  panels: z.array(panelSchema),
  templating: z.object({
    list: z.array(z.object({ name: z.string(), type: z.string(), definition: z.string().optional() })),
  }),
});

// Labels Prometheus attaches to every scraped series (the job and target), absent from /metrics itself.
const SCRAPE_LABELS = new Set(['job', 'instance']);
// Counters that need an event a test cannot cause here (a Redis outage): their families must exist all the same.
const WITHOUT_SAMPLES = new Set(['llm_limit_store_outages_total']);

const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
]);

/** The metric names, matcher labels and grouping labels of a PromQL expression (the subset the dashboard uses). */
function readQuery(expr: string): { metrics: string[]; labels: string[] } {
  const labels: string[] = [];
  let rest = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  rest = rest.replace(/\{([^}]*)\}/g, (_, matchers: string) => {
    for (const [, label] of matchers.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) if (label !== undefined) labels.push(label);
    return ' ';
  });
  rest = rest.replace(/\[[^\]]*\]/g, ' ');
  rest = rest.replace(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g, (_, list: string) => {
    labels.push(
      ...list
        .split(',')
        .map((label) => label.trim())
        .filter((label) => label !== ''),
    );
    return ' ';
  });
  const metrics = [...rest.matchAll(/\b([a-z_:][\w:]*)\b(?!\s*\()/gi)]
    .map((match) => match[1] ?? '')
    .filter((name) => !PROMQL_WORDS.has(name) && !/^\d/.test(name));
  return { metrics, labels };
}

/** Metric families (from `# TYPE`) and the label names their samples carry, from Prometheus text. */
function readExposition(text: string): { families: Map<string, string>; labels: Map<string, Set<string>> } {
  const families = new Map<string, string>();
  const labels = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type?.[1] !== undefined && type[2] !== undefined) families.set(type[1], type[2]);
    const sample = /^([a-z_:][\w:]*)(?:\{([^}]*)\})? \S+$/i.exec(line);
    if (sample?.[1] === undefined) continue;
    const names = labels.get(sample[1]) ?? new Set<string>();
    for (const [, label] of (sample[2] ?? '').matchAll(/(\w+)="/g)) if (label !== undefined) names.add(label);
    labels.set(sample[1], names);
  }
  return { families, labels };
}

/** The family a series name belongs to: histograms expose `_bucket`, `_sum` and `_count` series. */
function familyOf(name: string, families: ReadonlyMap<string, string>): string | undefined {
  if (families.has(name)) return name;
  const base = name.replace(/_(?:bucket|sum|count)$/, '');
  return families.get(base) === 'histogram' ? base : undefined;
}

const start = gatewayPerTest();

describe('the Grafana dashboard (deploy/grafana/gw-dashboard.json)', () => {
  it('reads its query parser right', () => {
    expect(
      readQuery(
        'histogram_quantile(0.95, sum by (le, model) (rate(llm_x_bucket{job=~"$job",a!="b"}[$__rate_interval])))',
      ),
    ).toEqual({ metrics: ['llm_x_bucket'], labels: ['job', 'a', 'le', 'model'] });
    expect(readQuery('sum(rate(a_total[5m])) / sum(rate(b_total{s="x"}[5m]))')).toEqual({
      metrics: ['a_total', 'b_total'],
      labels: ['s'],
    });
  });

  it('queries only metrics and labels a running gateway exposes', async () => {
    const dashboard = dashboardSchema.parse(JSON.parse(await readFile(dashboardPath, 'utf8')));
    const t = await start({
      config: (upstream) => ({
        providers: [
          { id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl, maxConcurrency: 2 },
          // Nothing listens on port 1: every call is a connection error, retried, then failed or fallen back from.
          { id: 'down', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: 'http://127.0.0.1:1/v1' },
          { id: 'tight', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl },
        ],
        models: [
          { name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] },
          { name: 'own', targets: [{ provider: 'up', model: 'my-own-finetune' }] },
          { name: 'flaky', targets: [{ provider: 'down', model: 'gpt-4o-mini' }], fallbacks: ['chat'] },
          { name: 'broken', targets: [{ provider: 'down', model: 'gpt-4o-mini' }] },
          { name: 'tight', targets: [{ provider: 'tight', model: 'gpt-4o-mini' }] },
        ],
        limits: { deployments: [{ provider: 'tight', rpm: 1 }] },
        retry: { maxRetries: 1, baseDelayMs: 0, maxDelayMs: 0 },
      }),
    });
    for (const model of ['chat', 'own', 'flaky', 'broken', 'tight', 'tight']) {
      await (await postJson(`${t.url}/v1/chat/completions`, chatBody(model))).text();
    }
    await (await postJson(`${t.url}/v1/chat/completions`, { ...chatBody('chat'), stream: true })).text();
    const { families, labels } = readExposition(await (await fetch(`${t.url}/metrics`)).text());

    const problems: string[] = [];
    const queries = dashboard.panels.flatMap((panel) =>
      (panel.targets ?? []).map((target) => ({ where: panel.title, expr: target.expr })),
    );
    for (const variable of dashboard.templating.list) {
      if (variable.definition !== undefined)
        queries.push({
          where: `$${variable.name}`,
          expr: variable.definition.replace(/^label_values\((\w+),\s*(\w+)\)$/, '$1{$2=""}'),
        });
    }
    expect(queries.length).toBeGreaterThan(20);
    for (const { where, expr } of queries) {
      const query = readQuery(expr);
      expect(query.metrics.length, `${where}: ${expr}`).toBeGreaterThan(0);
      const carried = new Set<string>([...SCRAPE_LABELS, 'le']);
      for (const metric of query.metrics) {
        const family = familyOf(metric, families);
        if (family === undefined) {
          problems.push(`${where}: ${metric} is not in /metrics`);
          continue;
        }
        const seen = labels.get(metric);
        if (seen === undefined && !WITHOUT_SAMPLES.has(family)) problems.push(`${where}: ${metric} has no samples`);
        for (const label of seen ?? []) carried.add(label);
        if (seen === undefined) for (const label of query.labels) carried.add(label);
      }
      for (const label of query.labels) {
        if (!carried.has(label)) problems.push(`${where}: label "${label}" is not on ${query.metrics.join(', ')}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
