import { useMemo, useState } from 'preact/hooks';
import { api, type KeyJson, type LatencyAnswer, type Timeseries, type UsageGroupJson } from '../api.ts';
import { TimeChart, type ChartSeries } from '../chart.tsx';
import { formatCompact, formatCount, formatMoney, formatMs, formatPercent } from '../format.ts';
import { Empty, Show, useLoad } from '../ui.tsx';

const RANGES = {
  '24h': { label: 'Last 24 hours', bucket: 'hour', hours: 24 },
  '7d': { label: 'Last 7 days', bucket: 'hour', hours: 7 * 24 },
  '30d': { label: 'Last 30 days', bucket: 'day', hours: 30 * 24 },
} as const;
type RangeId = keyof typeof RANGES;
type Split = 'none' | 'model' | 'provider' | 'key';
const MAX_LINES = 6;

interface OverviewData {
  series: Timeseries;
  latency: LatencyAnswer;
  spenders: UsageGroupJson[];
  keyNames: Map<string, string>;
}

function keyName(id: string | null | undefined, names: Map<string, string>): string {
  if (id === null || id === undefined) return 'master key';
  return names.get(id) ?? id;
}

/** Every bucket of the range, oldest first, in Unix seconds: a bucket without requests is a zero, not a gap. */
function bucketsOf(series: Timeseries): number[] {
  const step = (series.bucket === 'hour' ? 3600 : 86_400) * 1000;
  const buckets: number[] = [];
  for (let at = Date.parse(series.from); at < Date.parse(series.to); at += step) buckets.push(at / 1000);
  return buckets;
}

type Measure = 'requests' | 'errors' | 'cost' | 'tokens';

function measureOf(point: Timeseries['data'][number], measure: Measure): number {
  if (measure === 'tokens') return point.input_tokens + point.output_tokens;
  return point[measure];
}

/** The lines of one chart: the largest groups by requests, the rest summed as "other". */
function linesOf(series: Timeseries, x: number[], measure: Measure, names: Map<string, string>): ChartSeries[] {
  const field = series.group_by === 'key' ? 'key_id' : series.group_by;
  const label = (point: Timeseries['data'][number]): string => {
    if (field === null) return 'all';
    const value = point[field];
    return field === 'key_id' ? keyName(value, names) : (value ?? '(none)');
  };
  const totals = new Map<string, number>();
  for (const point of series.data) totals.set(label(point), (totals.get(label(point)) ?? 0) + point.requests);
  const ranked = [...totals].sort((a, b) => b[1] - a[1]).map(([name]) => name);
  const shown = new Set(ranked.slice(0, ranked.length > MAX_LINES ? MAX_LINES - 1 : MAX_LINES));
  const index = new Map(x.map((at, position) => [at, position]));
  const lines = new Map<string, Array<number | null>>();
  for (const name of [...shown, ...(ranked.length > shown.size ? ['other'] : [])]) {
    lines.set(
      name,
      x.map(() => 0),
    );
  }
  if (lines.size === 0)
    lines.set(
      'all',
      x.map(() => 0),
    );
  for (const point of series.data) {
    const name = shown.has(label(point)) ? label(point) : 'other';
    const position = index.get(Date.parse(point.bucket) / 1000);
    const values = lines.get(name);
    if (position === undefined || values === undefined) continue;
    values[position] = (values[position] ?? 0) + measureOf(point, measure);
  }
  return [...lines].map(([name, values]) => ({ label: name, values }));
}

export function OverviewPage(props: { currency: string }) {
  const [range, setRange] = useState<RangeId>('24h');
  const [split, setSplit] = useState<Split>('model');
  const [loaded, reload] = useLoad<OverviewData>(
    async (signal) => {
      const { bucket, hours } = RANGES[range];
      const from = new Date(Date.now() - hours * 3_600_000).toISOString();
      const query = new URLSearchParams({ bucket, from });
      if (split !== 'none') query.set('group_by', split);
      const [series, latency, spenders, keys] = await Promise.all([
        api<Timeseries>(`usage/timeseries?${query.toString()}`, { signal }),
        api<LatencyAnswer>(`usage/latency?from=${encodeURIComponent(from)}`, { signal }),
        api<{ data: UsageGroupJson[] }>(`usage?group_by=key&from=${encodeURIComponent(from)}`, { signal }),
        // Without the database there are no keys: the overview still shows the usage.
        api<{ data: KeyJson[] }>('keys', { signal }).catch(() => ({ data: [] as KeyJson[] })),
      ]);
      return {
        series,
        latency,
        spenders: spenders.data.sort((a, b) => b.cost - a.cost || b.requests - a.requests).slice(0, 5),
        keyNames: new Map(keys.data.map((key) => [key.id, key.name])),
      };
    },
    [range, split],
  );

  return (
    <section class="page">
      <div class="toolbar">
        <h1>Overview</h1>
        <div class="segmented" role="group" aria-label="Range">
          {(Object.keys(RANGES) as RangeId[]).map((id) => (
            <button key={id} type="button" aria-pressed={id === range} onClick={() => setRange(id)}>
              {id}
            </button>
          ))}
        </div>
        <label>
          Split by{' '}
          <select value={split} onChange={(event) => setSplit(event.currentTarget.value as Split)}>
            <option value="none">nothing</option>
            <option value="model">model</option>
            <option value="provider">provider</option>
            <option value="key">key</option>
          </select>
        </label>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </div>
      <Show loaded={loaded} what="usage" retry={reload}>
        {(data) => <OverviewBody data={data} currency={data.series.currency || props.currency} range={range} />}
      </Show>
    </section>
  );
}

function OverviewBody(props: { data: OverviewData; currency: string; range: RangeId }) {
  const { data, currency } = props;
  const { series, keyNames } = data;
  const x = useMemo(() => bucketsOf(series), [series]);
  const charts = useMemo(
    () => ({
      requests: linesOf(series, x, 'requests', keyNames),
      errors: linesOf(series, x, 'errors', keyNames),
      cost: linesOf(series, x, 'cost', keyNames),
      tokens: linesOf(series, x, 'tokens', keyNames),
    }),
    [series, x, keyNames],
  );
  const money = useMemo(() => (value: number) => formatMoney(value, currency), [currency]);
  const totals = series.data.reduce(
    (sum, point) => ({
      requests: sum.requests + point.requests,
      errors: sum.errors + point.errors,
      cost: sum.cost + point.cost,
      tokens: sum.tokens + point.input_tokens + point.output_tokens,
      unpriced: sum.unpriced + point.unpriced_requests,
    }),
    { requests: 0, errors: 0, cost: 0, tokens: 0, unpriced: 0 },
  );

  if (totals.requests === 0) {
    return (
      <Empty>
        No requests in the {RANGES[props.range].label.toLowerCase()}. Send one through the gateway, e.g.{' '}
        <code>
          curl {location.origin}/v1/chat/completions -H 'content-type: application/json' -d '{'{'}
          "model":"demo","messages":[{'{'}"role":"user","content":"hi"{'}'}]{'}'}'
        </code>
        , then refresh.
      </Empty>
    );
  }
  return (
    <>
      <div class="cards">
        <div class="card" data-total="requests">
          <span>Requests</span>
          <strong>{formatCount(totals.requests)}</strong>
        </div>
        <div class="card" data-total="errors">
          <span>Errors</span>
          <strong>{formatCount(totals.errors)}</strong>
          <small>{formatPercent(totals.errors, totals.requests)} of requests</small>
        </div>
        <div class="card" data-total="cost">
          <span>Cost</span>
          <strong>{formatMoney(totals.cost, currency)}</strong>
          {totals.unpriced > 0 ? <small>{formatCount(totals.unpriced)} unpriced requests not included</small> : null}
        </div>
        <div class="card" data-total="tokens">
          <span>Tokens</span>
          <strong>{formatCompact(totals.tokens)}</strong>
        </div>
      </div>
      <div class="charts">
        <TimeChart title="Requests" x={x} series={charts.requests} format={formatCompact} integer />
        <TimeChart title="Errors" x={x} series={charts.errors} format={formatCompact} integer />
        <TimeChart title={`Cost (${currency})`} x={x} series={charts.cost} format={money} />
        <TimeChart title="Tokens" x={x} series={charts.tokens} format={formatCompact} integer />
      </div>
      <div class="columns">
        <section>
          <h2>Latency per model</h2>
          {data.latency.data.length === 0 ? (
            <Empty>No completed requests in this range.</Empty>
          ) : (
            <div class="table-scroll">
              <table>
                <thead>
                  <tr>
                    <th>Model</th>
                    <th class="num">p50</th>
                    <th class="num">p95</th>
                    <th class="num">TTFT p50</th>
                    <th class="num">TTFT p95</th>
                    <th class="num">Requests</th>
                  </tr>
                </thead>
                <tbody>
                  {data.latency.data.map((model) => (
                    <tr key={model.model}>
                      <td>{model.model}</td>
                      <td class="num">{formatMs(model.latency_ms.p50)}</td>
                      <td class="num">{formatMs(model.latency_ms.p95)}</td>
                      <td class="num">{formatMs(model.ttft_ms.p50)}</td>
                      <td class="num">{formatMs(model.ttft_ms.p95)}</td>
                      <td class="num">{formatCount(model.latency_ms.samples)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <p class="hint">Completed requests only; time to first token of streamed ones.</p>
        </section>
        <section>
          <h2>Top spenders</h2>
          <div class="table-scroll">
            <table>
              <thead>
                <tr>
                  <th>Key</th>
                  <th class="num">Requests</th>
                  <th class="num">Cost</th>
                </tr>
              </thead>
              <tbody>
                {data.spenders.map((spender) => (
                  <tr key={spender.key_id ?? 'master'}>
                    <td>{keyName(spender.key_id, keyNames)}</td>
                    <td class="num">{formatCount(spender.requests)}</td>
                    <td class="num">{formatMoney(spender.cost, currency)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      </div>
    </>
  );
}
