import { useState } from 'preact/hooks';
import { api, ApiError } from '../api.ts';
import { formatCount, formatMs, formatTime } from '../format.ts';
import { Empty, ErrorBox, Show, useLoad } from '../ui.tsx';

interface ProviderJson {
  id: string;
  kind: string;
  source: 'file' | 'database';
  status: string;
  reason: string | null;
  synced_models: string[] | null;
  synced_at: string | null;
}

interface DeploymentJson {
  id: string;
  alias: string;
  provider_id: string;
  model: string;
  in_flight: number;
  ewma_ttft_ms?: number;
  cooldown_until?: number;
  last_error_kind?: string;
  calls: number;
  failures: number;
  consecutive_failures: number;
}

interface HealthJson {
  deployments: DeploymentJson[];
  breakers: Array<{ deployment: string; state: string }>;
  probes: Array<{
    provider: string;
    ok: boolean;
    latency_ms: number;
    at: number;
    error?: { kind: string; message: string };
  }>;
}

interface QueueJson {
  provider: string;
  running: number;
  queued: number;
  max_concurrency: number | null;
  configured_max_concurrency: number | null;
  override: number | null;
  adaptive: boolean;
}

interface ProvidersData {
  providers: ProviderJson[];
  health: HealthJson;
  queues: Map<string, QueueJson>;
}

type ActionResult = { provider: string; ok: boolean; text: string };

export function ProvidersPage() {
  const [loaded, reload] = useLoad<ProvidersData>(async (signal) => {
    const [providers, health, queues] = await Promise.all([
      api<{ data: ProviderJson[] }>('providers', { signal }),
      api<HealthJson>('health', { signal }),
      api<{ data: QueueJson[] }>('queues', { signal }),
    ]);
    return {
      providers: providers.data,
      health,
      queues: new Map(queues.data.map((queue) => [queue.provider, queue])),
    };
  }, []);
  const [result, setResult] = useState<ActionResult | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [caps, setCaps] = useState<Record<string, string>>({});

  const act = async (provider: string, label: string, action: () => Promise<ActionResult>) => {
    setBusy(`${provider}:${label}`);
    setError(null);
    setResult(null);
    try {
      setResult(await action());
      reload();
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new ApiError(String(caught), 0, null));
    } finally {
      setBusy(null);
    }
  };
  const test = (id: string) =>
    act(id, 'test', async () => {
      const answer = await api<{ ok: boolean; latency_ms: number; error: { kind: string; message: string } | null }>(
        `providers/${encodeURIComponent(id)}/test`,
        { method: 'POST' },
      );
      return {
        provider: id,
        ok: answer.ok,
        text: answer.ok
          ? `${id} answered in ${formatMs(answer.latency_ms)}.`
          : `${id} failed: ${answer.error?.kind ?? 'error'}: ${answer.error?.message ?? ''}`,
      };
    });
  const sync = (id: string) =>
    act(id, 'sync', async () => {
      const answer = await api<{ models: string[] }>(`providers/${encodeURIComponent(id)}/sync-models`, {
        method: 'POST',
      });
      return { provider: id, ok: true, text: `${id} lists ${formatCount(answer.models.length)} models.` };
    });
  const setCap = (id: string, value: number | null) =>
    act(id, 'cap', async () => {
      const answer = await api<QueueJson>(`queues/${encodeURIComponent(id)}`, {
        method: 'PATCH',
        body: { max_concurrency: value },
      });
      return {
        provider: id,
        ok: true,
        text:
          answer.max_concurrency === null
            ? `${id}: no concurrency limit.`
            : `${id}: at most ${answer.max_concurrency} calls at once.`,
      };
    });

  return (
    <section class="page">
      <div class="toolbar">
        <h1>Providers & health</h1>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </div>
      {result === null ? null : (
        <div class={`notice ${result.ok ? 'success' : 'error'}`} role="status">
          {result.text}
        </div>
      )}
      {error === null ? null : <ErrorBox error={error} />}
      <Show loaded={loaded} what="providers" retry={reload}>
        {(data) =>
          data.providers.length === 0 ? (
            <Empty>
              No providers configured. Add one under providers: in gateway.yaml, or with POST /admin/providers.
            </Empty>
          ) : (
            <div class="provider-list">
              {data.providers.map((provider) => {
                const deployments = data.health.deployments.filter(
                  (deployment) => deployment.provider_id === provider.id,
                );
                const probe = data.health.probes.find((entry) => entry.provider === provider.id);
                const queue = data.queues.get(provider.id);
                const enabled = provider.status === 'enabled';
                return (
                  <article class="provider" key={provider.id} data-provider={provider.id}>
                    <header>
                      <h2>{provider.id}</h2>
                      <span class="muted">
                        {provider.kind} · {provider.source === 'file' ? 'gateway.yaml' : 'added through the API'}
                      </span>
                      <span class={`badge ${enabled ? 'ok' : 'warn'}`}>{provider.status}</span>
                    </header>
                    {provider.reason === null ? null : <p class="hint">{provider.reason}</p>}
                    <p class="muted">
                      Last probe:{' '}
                      {probe === undefined
                        ? 'none yet (health.probeIntervalMs runs them periodically)'
                        : `${probe.ok ? 'ok' : `failed (${probe.error?.kind ?? 'error'})`} in ${formatMs(probe.latency_ms)}, ${formatTime(new Date(probe.at).toISOString())}`}
                      {provider.synced_at === null
                        ? ''
                        : ` · ${formatCount(provider.synced_models?.length ?? 0)} models synced ${formatTime(provider.synced_at)}`}
                    </p>
                    {enabled ? (
                      <div class="row">
                        <button type="button" disabled={busy !== null} onClick={() => void test(provider.id)}>
                          Test
                        </button>
                        <button type="button" disabled={busy !== null} onClick={() => void sync(provider.id)}>
                          Sync models
                        </button>
                        <form
                          class="row"
                          onSubmit={(event) => {
                            event.preventDefault();
                            const text = caps[provider.id] ?? '';
                            if (text !== '') void setCap(provider.id, Number(text));
                          }}
                        >
                          <label>
                            Concurrency{' '}
                            <input
                              name={`cap-${provider.id}`}
                              type="number"
                              min={1}
                              disabled={queue?.adaptive === true}
                              placeholder={queue?.max_concurrency == null ? 'unlimited' : String(queue.max_concurrency)}
                              value={caps[provider.id] ?? ''}
                              onInput={(event) => setCaps({ ...caps, [provider.id]: event.currentTarget.value })}
                            />
                          </label>
                          <button type="submit" disabled={busy !== null || queue?.adaptive === true}>
                            Set
                          </button>
                          {queue?.override == null ? null : (
                            <button type="button" class="link" onClick={() => void setCap(provider.id, null)}>
                              Back to configured ({queue.configured_max_concurrency ?? 'unlimited'})
                            </button>
                          )}
                        </form>
                        <span class="muted" data-queue={provider.id}>
                          {queue === undefined
                            ? 'no queue'
                            : `${queue.running} running, ${queue.queued} queued${queue.adaptive ? ' (adaptive)' : ''}`}
                        </span>
                      </div>
                    ) : null}
                    {deployments.length === 0 ? null : (
                      <div class="table-scroll">
                        <table>
                          <thead>
                            <tr>
                              <th>Deployment</th>
                              <th>Model alias</th>
                              <th>State</th>
                              <th>Breaker</th>
                              <th class="num">In flight</th>
                              <th class="num">Calls / failures</th>
                              <th class="num">TTFT (avg)</th>
                            </tr>
                          </thead>
                          <tbody>
                            {deployments.map((deployment) => {
                              const breaker = data.health.breakers.find((entry) => entry.deployment === deployment.id);
                              const cooling =
                                deployment.cooldown_until !== undefined && deployment.cooldown_until > Date.now();
                              return (
                                <tr key={deployment.id}>
                                  <td>{deployment.model}</td>
                                  <td>{deployment.alias}</td>
                                  <td>
                                    <span class={`status ${cooling ? 'failed' : 'completed'}`}>
                                      {cooling ? 'cooling down' : 'in rotation'}
                                    </span>
                                    {deployment.last_error_kind === undefined
                                      ? ''
                                      : ` (last: ${deployment.last_error_kind})`}
                                  </td>
                                  <td>
                                    <span
                                      class={`status ${breaker?.state === 'closed' || breaker === undefined ? 'completed' : 'failed'}`}
                                    >
                                      {breaker?.state ?? 'closed'}
                                    </span>
                                  </td>
                                  <td class="num">{deployment.in_flight}</td>
                                  <td class="num">
                                    {formatCount(deployment.calls)} / {formatCount(deployment.failures)}
                                  </td>
                                  <td class="num">
                                    {deployment.ewma_ttft_ms === undefined
                                      ? '—'
                                      : formatMs(Math.round(deployment.ewma_ttft_ms))}
                                  </td>
                                </tr>
                              );
                            })}
                          </tbody>
                        </table>
                      </div>
                    )}
                  </article>
                );
              })}
            </div>
          )
        }
      </Show>
    </section>
  );
}
