import { useState } from 'preact/hooks';
import { api, ApiError, type KeyJson } from '../api.ts';
import { formatCount, formatMoney, formatTime } from '../format.ts';
import { Empty, ErrorBox, Show, useLoad } from '../ui.tsx';

interface KeyForm {
  name: string;
  models: string;
  rpm: string;
  tpm: string;
  max_parallel: string;
  budget: string;
  period: 'day' | 'month' | 'total';
}

const EMPTY_FORM: KeyForm = { name: '', models: '', rpm: '', tpm: '', max_parallel: '', budget: '', period: 'month' };

function formOf(key: KeyJson): KeyForm {
  const text = (value: number | null) => (value === null ? '' : String(value));
  return {
    name: key.name,
    models: key.models?.join(', ') ?? '',
    rpm: text(key.rpm),
    tpm: text(key.tpm),
    max_parallel: text(key.max_parallel),
    budget: key.budget === null ? '' : String(key.budget.amount),
    period: key.budget?.period ?? 'month',
  };
}

/** The admin API's body: an empty field is `null` (no limit), so an edit can remove a limit. */
function bodyOf(form: KeyForm): Record<string, unknown> {
  const number = (value: string) => (value.trim() === '' ? null : Number(value));
  const models = form.models
    .split(',')
    .map((model) => model.trim())
    .filter((model) => model !== '');
  return {
    name: form.name.trim(),
    models: models.length === 0 ? null : models,
    rpm: number(form.rpm),
    tpm: number(form.tpm),
    max_parallel: number(form.max_parallel),
    budget: form.budget.trim() === '' ? null : { amount: Number(form.budget), period: form.period },
  };
}

function KeyFields(props: { form: KeyForm; setForm: (form: KeyForm) => void; currency: string }) {
  const { form, setForm } = props;
  const input = (name: Exclude<keyof KeyForm, 'period'>) => ({
    name,
    value: form[name],
    onInput: (event: Event) => setForm({ ...form, [name]: (event.currentTarget as HTMLInputElement).value }),
  });
  return (
    <>
      <label>
        Name <input {...input('name')} required maxLength={200} />
      </label>
      <label>
        Models <input {...input('models')} placeholder="all (or: chat, gpt-4o)" />
      </label>
      <label>
        Requests / min <input {...input('rpm')} type="number" min={1} placeholder="no limit" />
      </label>
      <label>
        Tokens / min <input {...input('tpm')} type="number" min={1} placeholder="no limit" />
      </label>
      <label>
        Parallel <input {...input('max_parallel')} type="number" min={1} placeholder="no limit" />
      </label>
      <label>
        Budget ({props.currency}) <input {...input('budget')} type="number" min={0} step="any" placeholder="none" />
      </label>
      <label>
        per
        <select
          name="period"
          value={form.period}
          onChange={(event) => setForm({ ...form, period: event.currentTarget.value as KeyForm['period'] })}
        >
          <option value="day">day</option>
          <option value="month">month</option>
          <option value="total">in total</option>
        </select>
      </label>
    </>
  );
}

function BudgetBar(props: { keyJson: KeyJson }) {
  const { budget, spend } = props.keyJson;
  if (budget === null) return <span class="muted">no budget</span>;
  const spent = spend?.amount ?? 0;
  const ratio = budget.amount === 0 ? 1 : Math.min(spent / budget.amount, 1);
  const level = ratio >= 1 ? 'over' : ratio >= 0.8 ? 'near' : 'ok';
  return (
    <div class="budget" title={`${Math.round(ratio * 100)}% of the ${budget.period} budget used`}>
      <div class="bar" role="meter" aria-valuemin={0} aria-valuemax={budget.amount} aria-valuenow={spent}>
        <div class={`fill ${level}`} style={{ width: `${ratio * 100}%` }} />
      </div>
      <small>
        {formatMoney(spent, budget.currency)} of {formatMoney(budget.amount, budget.currency)} /{' '}
        {budget.period === 'total' ? 'total' : budget.period}
      </small>
    </div>
  );
}

function CreatedSecret(props: { name: string; secret: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.secret);
      setCopied(true);
    } catch {
      // No clipboard (plain http on another host): the field is selected for a manual copy.
      (document.getElementById('new-secret') as HTMLInputElement | null)?.select();
    }
  };
  return (
    <div class="notice success secret" role="status">
      <strong>Key “{props.name}” created. Copy its secret now: it is not shown again.</strong>
      <div class="row">
        <input id="new-secret" readOnly value={props.secret} onFocus={(event) => event.currentTarget.select()} />
        <button type="button" onClick={() => void copy()}>
          {copied ? 'Copied' : 'Copy'}
        </button>
        <button type="button" class="link" onClick={props.onDone}>
          Done
        </button>
      </div>
    </div>
  );
}

export function KeysPage(props: { currency: string }) {
  const [loaded, reload] = useLoad<KeyJson[]>(
    async (signal) => (await api<{ data: KeyJson[] }>('keys', { signal })).data,
    [],
  );
  const [form, setForm] = useState<KeyForm>(EMPTY_FORM);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);
  const [editing, setEditing] = useState<{ id: string; form: KeyForm } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const run = async (action: () => Promise<void>) => {
    setError(null);
    try {
      await action();
      reload();
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new ApiError(String(caught), 0, null));
    }
  };
  const create = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const answer = await api<KeyJson & { key: string }>('keys', { method: 'POST', body: bodyOf(form) });
      setCreated({ name: answer.name, secret: answer.key });
      setForm(EMPTY_FORM);
      setCreating(false);
    });
  };
  const save = (event: Event) => {
    event.preventDefault();
    if (editing === null) return;
    void run(async () => {
      await api(`keys/${encodeURIComponent(editing.id)}`, { method: 'PATCH', body: bodyOf(editing.form) });
      setEditing(null);
    });
  };
  const revoke = (key: KeyJson) => {
    if (!confirm(`Revoke “${key.name}”? Requests with it are refused (401) from now on; this cannot be undone.`))
      return;
    void run(async () => {
      await api(`keys/${encodeURIComponent(key.id)}`, { method: 'DELETE' });
    });
  };

  return (
    <section class="page">
      <div class="toolbar">
        <h1>Keys</h1>
        <button type="button" onClick={() => setCreating(!creating)}>
          {creating ? 'Cancel' : 'Create key'}
        </button>
      </div>
      {created === null ? null : (
        <CreatedSecret name={created.name} secret={created.secret} onDone={() => setCreated(null)} />
      )}
      {error === null ? null : <ErrorBox error={error} />}
      {creating ? (
        <form class="key-form" aria-label="New key" onSubmit={create}>
          <KeyFields form={form} setForm={setForm} currency={props.currency} />
          <button type="submit">Create</button>
        </form>
      ) : null}
      <Show loaded={loaded} what="keys" retry={reload}>
        {(keys) =>
          keys.length === 0 ? (
            <Empty>
              No virtual keys yet. Create one to give an app or a team its own secret, limits and budget; until then
              only the master key can call the gateway.
            </Empty>
          ) : (
            <div class="table-scroll">
              <table class="keys">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Key</th>
                    <th>Models</th>
                    <th class="num">RPM / TPM</th>
                    <th>Budget</th>
                    <th>Created</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {keys.map((key) =>
                    editing?.id === key.id ? (
                      <tr key={key.id}>
                        <td colSpan={7}>
                          <form class="key-form" aria-label={`Edit ${key.name}`} onSubmit={save}>
                            <KeyFields
                              form={editing.form}
                              setForm={(next) => setEditing({ id: key.id, form: next })}
                              currency={props.currency}
                            />
                            <button type="submit">Save</button>
                            <button type="button" class="link" onClick={() => setEditing(null)}>
                              Cancel
                            </button>
                          </form>
                        </td>
                      </tr>
                    ) : (
                      <tr key={key.id} data-key-id={key.id} class={key.revoked_at === null ? '' : 'revoked'}>
                        <td>{key.name}</td>
                        <td>
                          <code>{key.prefix}…</code>
                        </td>
                        <td>{key.models?.join(', ') ?? 'all'}</td>
                        <td class="num">
                          {key.rpm === null ? '—' : formatCount(key.rpm)} /{' '}
                          {key.tpm === null ? '—' : formatCount(key.tpm)}
                        </td>
                        <td>
                          <BudgetBar keyJson={key} />
                        </td>
                        <td>{formatTime(key.created_at)}</td>
                        <td>
                          <div class="actions">
                            {key.revoked_at === null ? (
                              <>
                                <button type="button" onClick={() => setEditing({ id: key.id, form: formOf(key) })}>
                                  Edit
                                </button>
                                <button type="button" class="danger" onClick={() => revoke(key)}>
                                  Revoke
                                </button>
                              </>
                            ) : (
                              <span class="status failed">revoked {formatTime(key.revoked_at)}</span>
                            )}
                          </div>
                        </td>
                      </tr>
                    ),
                  )}
                </tbody>
              </table>
            </div>
          )
        }
      </Show>
    </section>
  );
}
