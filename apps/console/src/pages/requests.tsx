import { useState } from 'preact/hooks';
import { api, type KeyJson, type LedgerRowJson } from '../api.ts';
import { formatCount, formatMoney, formatMs, formatTime } from '../format.ts';
import { Empty, Show, useLoad } from '../ui.tsx';

interface Filters {
  model: string;
  provider: string;
  key: string;
  status: string;
  from: string;
  to: string;
}
const NO_FILTERS: Filters = { model: '', provider: '', key: '', status: '', from: '', to: '' };
const PAGE_SIZE = 25;

interface RequestPage {
  data: LedgerRowJson[];
  next: string | null;
}

function queryOf(filters: Filters, before: string | null): string {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  for (const name of ['model', 'provider', 'key', 'status'] as const) {
    if (filters[name] !== '') query.set(name, filters[name]);
  }
  // datetime-local is local time: sent as the UTC instant it stands for.
  if (filters.from !== '') query.set('from', new Date(filters.from).toISOString());
  if (filters.to !== '') query.set('to', new Date(filters.to).toISOString());
  if (before !== null) query.set('before', before);
  return query.toString();
}

export function RequestsPage(props: { currency: string }) {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  // The cursors of the pages before this one: "Newer" goes back one.
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const [selected, setSelected] = useState<string | null>(null);
  const before = cursors.at(-1) ?? null;
  const [loaded, reload] = useLoad<RequestPage>(
    (signal) => api<RequestPage>(`requests?${queryOf(filters, before)}`, { signal }),
    [filters, before],
  );
  const [keys] = useLoad<KeyJson[]>(
    async (signal) => (await api<{ data: KeyJson[] }>('keys', { signal }).catch(() => ({ data: [] }))).data,
    [],
  );
  const keyNames = new Map(keys.state === 'ready' ? keys.data.map((key) => [key.id, key.name]) : []);

  const apply = (event: Event) => {
    event.preventDefault();
    setFilters(draft);
    setCursors([null]);
  };
  const field = (name: keyof Filters) => ({
    name,
    value: draft[name],
    onInput: (event: Event) => setDraft({ ...draft, [name]: (event.currentTarget as HTMLInputElement).value }),
  });

  return (
    <section class="page">
      <div class="toolbar">
        <h1>Requests</h1>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </div>
      <form class="filters" onSubmit={apply}>
        <label>
          Model <input {...field('model')} placeholder="any" />
        </label>
        <label>
          Provider <input {...field('provider')} placeholder="any" />
        </label>
        <label>
          Key
          <select {...field('key')} onChange={field('key').onInput}>
            <option value="">any</option>
            {keys.state === 'ready'
              ? keys.data.map((key) => (
                  <option key={key.id} value={key.id}>
                    {key.name}
                  </option>
                ))
              : null}
          </select>
        </label>
        <label>
          Status
          <select {...field('status')} onChange={field('status').onInput}>
            <option value="">any</option>
            <option value="completed">completed</option>
            <option value="failed">failed</option>
            <option value="cancelled">cancelled</option>
          </select>
        </label>
        <label>
          From <input type="datetime-local" {...field('from')} />
        </label>
        <label>
          To <input type="datetime-local" {...field('to')} />
        </label>
        <button type="submit">Apply</button>
        <button
          type="button"
          class="link"
          onClick={() => {
            setDraft(NO_FILTERS);
            setFilters(NO_FILTERS);
            setCursors([null]);
          }}
        >
          Clear
        </button>
      </form>
      <Show loaded={loaded} what="requests" retry={reload}>
        {(page) =>
          page.data.length === 0 ? (
            <Empty>
              {filters === NO_FILTERS && before === null
                ? 'No requests recorded yet. Requests sent through the gateway show here within a second or two.'
                : 'No request matches these filters. Clear them or widen the time range.'}
            </Empty>
          ) : (
            <>
              <div class="table-scroll">
                <table class="requests">
                  <thead>
                    <tr>
                      <th>Time</th>
                      <th>Model</th>
                      <th>Provider</th>
                      <th>Key</th>
                      <th>Status</th>
                      <th class="num">Tokens in / out</th>
                      <th class="num">Cost</th>
                      <th class="num">Latency</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.data.map((row) => (
                      <tr
                        key={row.request_id}
                        data-request-id={row.request_id}
                        class={row.request_id === selected ? 'selected clickable' : 'clickable'}
                        tabIndex={0}
                        onClick={() => setSelected(row.request_id === selected ? null : row.request_id)}
                        onKeyDown={(event) => {
                          if (event.key === 'Enter') setSelected(row.request_id);
                        }}
                      >
                        <td>{formatTime(row.created_at)}</td>
                        <td>{row.model}</td>
                        <td>{row.provider}</td>
                        <td>{row.key_id === null ? 'master key' : (keyNames.get(row.key_id) ?? row.key_id)}</td>
                        <td>
                          <span class={`status ${row.status}`}>{row.status}</span>
                          {row.http_status !== null && row.http_status !== 200 ? ` ${row.http_status}` : ''}
                        </td>
                        <td class="num">
                          {formatCount(row.input_tokens)} / {formatCount(row.output_tokens)}
                        </td>
                        <td class="num">
                          {row.cost === null ? 'unpriced' : formatMoney(row.cost, row.currency ?? props.currency)}
                        </td>
                        <td class="num">{formatMs(row.latency_ms)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <div class="pager">
                <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
                  ← Newer
                </button>
                <span>Page {cursors.length}</span>
                <button type="button" disabled={page.next === null} onClick={() => setCursors([...cursors, page.next])}>
                  Older →
                </button>
              </div>
              {selected === null ? null : (
                <RequestDetail
                  id={selected}
                  currency={props.currency}
                  keyNames={keyNames}
                  onClose={() => setSelected(null)}
                />
              )}
            </>
          )
        }
      </Show>
    </section>
  );
}

const TOKEN_CLASSES = [
  ['input', 'Input'],
  ['cached_input', 'Cached input'],
  ['cache_write', 'Cache write'],
  ['output', 'Output'],
  ['reasoning', 'Reasoning'],
] as const;

function RequestDetail(props: { id: string; currency: string; keyNames: Map<string, string>; onClose: () => void }) {
  const [loaded, reload] = useLoad<LedgerRowJson>(
    (signal) => api<LedgerRowJson>(`requests/${encodeURIComponent(props.id)}`, { signal }),
    [props.id],
  );
  return (
    <aside class="detail" aria-label="Request detail">
      <div class="toolbar">
        <h2>Request {props.id}</h2>
        <button type="button" class="link" onClick={props.onClose}>
          Close
        </button>
      </div>
      <Show loaded={loaded} what="the request" retry={reload}>
        {(row) => (
          <div class="detail-grid">
            <dl>
              <dt>Time</dt>
              <dd>{formatTime(row.created_at)}</dd>
              <dt>Model</dt>
              <dd>
                {row.model} → {row.provider}/{row.upstream_model}
              </dd>
              <dt>Endpoint</dt>
              <dd>
                {row.endpoint}
                {row.stream ? ' (stream)' : ''}
              </dd>
              <dt>Key</dt>
              <dd>{row.key_id === null ? 'master key' : (props.keyNames.get(row.key_id) ?? row.key_id)}</dd>
              <dt>Status</dt>
              <dd>
                <span class={`status ${row.status}`}>{row.status}</span> {row.http_status ?? ''}
              </dd>
              <dt>Error</dt>
              <dd>{row.error_kind ?? 'none'}</dd>
              <dt>Attempts</dt>
              <dd>{row.attempts}</dd>
              <dt>Fallback</dt>
              <dd>{row.fallback ? 'yes: answered by a fallback model' : 'no'}</dd>
              <dt>Latency</dt>
              <dd>
                {formatMs(row.latency_ms)}
                {row.ttft_ms === null ? '' : ` (first token ${formatMs(row.ttft_ms)})`}
              </dd>
            </dl>
            <table>
              <thead>
                <tr>
                  <th>Tokens</th>
                  <th class="num">Count</th>
                  <th class="num">Cost</th>
                </tr>
              </thead>
              <tbody>
                {TOKEN_CLASSES.map(([name, label]) => (
                  <tr key={name}>
                    <td>{label}</td>
                    <td class="num">{formatCount(row.tokens[name])}</td>
                    <td class="num">
                      {row.cost_breakdown === null ? '—' : `${row.cost_breakdown[name]} ${row.currency ?? ''}`}
                    </td>
                  </tr>
                ))}
                <tr class="total">
                  <td>Total</td>
                  <td class="num">{formatCount(row.input_tokens + row.output_tokens)}</td>
                  <td class="num">
                    {row.cost === null
                      ? 'unpriced: no price for this model'
                      : formatMoney(row.cost, row.currency ?? props.currency)}
                  </td>
                </tr>
              </tbody>
            </table>
            {row.estimated ? (
              <p class="hint">The vendor reported no usage: tokens and cost are the gateway's estimate.</p>
            ) : null}
          </div>
        )}
      </Show>
    </aside>
  );
}
