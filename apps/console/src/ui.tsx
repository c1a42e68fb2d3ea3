import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api.ts';

/** What a page knows of one admin call: loading, its answer, or the error to show. */
export type Loaded<T> = { state: 'loading' } | { state: 'error'; error: ApiError } | { state: 'ready'; data: T };

function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError(error instanceof Error ? error.message : 'Something went wrong.', 0, null);
}

/** Runs `load` when its dependencies change (and on `reload`), dropping answers that came too late. */
export function useLoad<T>(
  load: (signal: AbortSignal) => Promise<T>,
  dependencies: unknown[],
): [Loaded<T>, () => void] {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: 'loading' });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    setLoaded((previous) => (previous.state === 'ready' ? previous : { state: 'loading' }));
    load(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setLoaded({ state: 'ready', data });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setLoaded({ state: 'error', error: asApiError(error) });
      },
    );
    return () => controller.abort();
  }, [...dependencies, generation]);
  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  return [loaded, reload];
}

/** What to do about an error, by what it was. */
function advice(error: ApiError): string {
  if (error.status === 0) return 'Start the gateway (pnpm start) or check its address, then retry.';
  if (error.code === 'ledger_disabled')
    return 'Set storage.url (SQLite is the default) and keep storage.ledger on to record usage.';
  if (error.code === 'keys_unavailable') return 'Virtual keys need the database: set storage.url in gateway.yaml.';
  if (error.status === 401) return 'Sign in again with the master key.';
  if (error.status >= 500) return 'The gateway logged the cause; retry in a moment.';
  return 'Check the values and retry.';
}

export function ErrorBox(props: { error: ApiError; retry?: () => void }) {
  return (
    <div class="notice error" role="alert">
      <strong>{props.error.message}</strong>
      <span>{advice(props.error)}</span>
      {props.retry === undefined ? null : (
        <button type="button" onClick={props.retry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function Loading(props: { what: string }) {
  return (
    <div class="notice loading" aria-busy="true">
      Loading {props.what}…
    </div>
  );
}

export function Empty(props: { children: ComponentChildren }) {
  return <div class="notice empty">{props.children}</div>;
}

/** Renders a loaded value, or its loading / error state. */
export function Show<T>(props: {
  loaded: Loaded<T>;
  what: string;
  retry?: () => void;
  children: (data: T) => ComponentChildren;
}) {
  const { loaded } = props;
  if (loaded.state === 'loading') return <Loading what={props.what} />;
  if (loaded.state === 'error')
    return <ErrorBox error={loaded.error} {...(props.retry === undefined ? {} : { retry: props.retry })} />;
  return <>{props.children(loaded.data)}</>;
}
