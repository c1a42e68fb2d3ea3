import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, setUnauthorizedHandler, storedKey, storeKey, type ConfigAnswer } from './api.ts';
import { KeysPage } from './pages/keys.tsx';
import { OverviewPage } from './pages/overview.tsx';
import { ProvidersPage } from './pages/providers.tsx';
import { RequestsPage } from './pages/requests.tsx';
import './styles.css';

const BASE = '/console';
const PAGES = [
  { path: '/', title: 'Overview' },
  { path: '/requests', title: 'Requests' },
  { path: '/keys', title: 'Keys' },
  { path: '/providers', title: 'Providers & health' },
] as const;
type PagePath = (typeof PAGES)[number]['path'];

function currentPath(): PagePath {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) || '/' : '/';
  return PAGES.find((page) => page.path === path)?.path ?? '/';
}

/** What the console learns at sign-in: the reporting currency, and whether the gateway runs without a master key. */
interface Session {
  currency: string;
  open: boolean;
}

async function startSession(key: string | null): Promise<Session> {
  const answer = await api<ConfigAnswer>('config', { key });
  return {
    currency: answer.config.pricing?.currency ?? 'USD',
    open: answer.config.auth?.masterKey === undefined,
  };
}

function SignIn(props: { onSignedIn: (session: Session) => void; message: string | null }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(props.message);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await startSession(key.trim());
      storeKey(key.trim());
      props.onSignedIn(session);
    } catch (caught) {
      const failure = caught instanceof ApiError ? caught : new ApiError('Sign-in failed.', 0, null);
      setError(
        failure.status === 401
          ? 'That is not the master key. Use the value of GW_MASTER_KEY (auth.masterKey in gateway.yaml).'
          : failure.message,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <form onSubmit={(event) => void submit(event)}>
        <h1>gw console</h1>
        <p>Sign in with the gateway's master key. It is kept in this tab only (sessionStorage).</p>
        <label>
          Master key
          <input
            name="master-key"
            type="password"
            autocomplete="current-password"
            value={key}
            onInput={(event) => setKey(event.currentTarget.value)}
            required
          />
        </label>
        {error === null ? null : (
          <p class="notice error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [checking, setChecking] = useState(true);
  const [message, setMessage] = useState<string | null>(null);
  const [path, setPath] = useState<PagePath>(currentPath());

  useEffect(() => {
    // A key from earlier in this tab, or none: a gateway without a master key opens without one.
    startSession(storedKey()).then(
      (started) => {
        setSession(started);
        setChecking(false);
      },
      () => setChecking(false),
    );
    setUnauthorizedHandler(() => {
      storeKey(null);
      setSession(null);
      setMessage('The master key no longer works (was it changed?). Sign in again.');
    });
    const onPop = () => setPath(currentPath());
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);

  if (checking) return <div class="notice loading">Connecting to the gateway…</div>;
  if (session === null)
    return (
      <SignIn
        message={message}
        onSignedIn={(started) => {
          setMessage(null);
          setSession(started);
        }}
      />
    );

  const go = (event: MouseEvent, to: PagePath) => {
    event.preventDefault();
    history.pushState(null, '', `${BASE}${to === '/' ? '/' : to}`);
    setPath(to);
  };
  const signOut = () => {
    storeKey(null);
    setSession(null);
  };
  return (
    <div class="shell">
      <header>
        <span class="brand">gw</span>
        <nav>
          {PAGES.map((page) => (
            <a
              key={page.path}
              href={`${BASE}${page.path}`}
              aria-current={page.path === path ? 'page' : undefined}
              onClick={(event) => go(event, page.path)}
            >
              {page.title}
            </a>
          ))}
        </nav>
        {session.open ? (
          <span class="badge warn" title="auth.masterKey is not set: anyone who reaches the gateway is admin">
            open dev mode
          </span>
        ) : (
          <button type="button" class="link" onClick={signOut}>
            Sign out
          </button>
        )}
      </header>
      <main>
        {path === '/' ? <OverviewPage currency={session.currency} /> : null}
        {path === '/requests' ? <RequestsPage currency={session.currency} /> : null}
        {path === '/keys' ? <KeysPage currency={session.currency} /> : null}
        {path === '/providers' ? <ProvidersPage /> : null}
      </main>
    </div>
  );
}

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
