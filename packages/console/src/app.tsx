/**
 * The console's frame: connect (asking for a token when the server wants one), then the navigation
 * and the page the URL names. Every page gets the one session; none opens its own connection.
 */
import { useEffect, useState } from 'preact/hooks';
import { type Session, forgetToken, openSession, storedToken } from './session.js';
import { type Route, hrefOf, useRoute } from './route.js';
import { describeError } from './ui.js';
import { SpacesPage } from './pages/spaces.js';
import { ObjectsPage } from './pages/objects.js';
import { ObjectPage } from './pages/object.js';
import { SearchPage } from './pages/search.js';
import { ChangesPage } from './pages/changes.js';
import { MetricsPage } from './pages/metrics.js';
import { HealthPage } from './pages/health.js';

type State =
  | { readonly kind: 'connecting' }
  | { readonly kind: 'login'; readonly problem?: string }
  | { readonly kind: 'ready'; readonly session: Session };

function isRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'unauthenticated' || code === 'forbidden';
}

export function App() {
  const [state, setState] = useState<State>({ kind: 'connecting' });
  const login = (token: string | undefined) => {
    setState({ kind: 'connecting' });
    openSession(token).then(
      (session) => setState({ kind: 'ready', session }),
      (error: unknown) => {
        forgetToken();
        setState({ kind: 'login', ...(token !== undefined || !isRefusal(error) ? { problem: describeError(error) } : {}) });
      },
    );
  };
  useEffect(() => login(storedToken()), []);
  const logout = () => {
    if (state.kind === 'ready') void state.session.close();
    forgetToken();
    setState({ kind: 'login' });
  };

  if (state.kind === 'connecting') return <main class="centered"><p>Connecting…</p></main>;
  if (state.kind === 'login') return <Login problem={state.problem} onLogin={login} />;
  return <Shell session={state.session} onLogout={logout} />;
}

function Login({ problem, onLogin }: { readonly problem: string | undefined; readonly onLogin: (token: string | undefined) => void }) {
  const [token, setToken] = useState('');
  return (
    <main class="centered">
      <form class="card login" onSubmit={(e) => { e.preventDefault(); onLogin(token.trim() || undefined); }}>
        <h1>spacekv console</h1>
        <label for="token">Token</label>
        <input id="token" type="password" autocomplete="off" value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        <p class="hint">The server requires a token (<code>spacekv token create</code>). It is kept for this tab only.</p>
        {problem && <p class="error" role="alert">{problem}</p>}
        <button type="submit">Log in</button>
      </form>
    </main>
  );
}

const NAV: readonly { readonly route: Route; readonly label: string }[] = [
  { route: { page: 'spaces' }, label: 'Spaces' },
  { route: { page: 'changes' }, label: 'Changes' },
  { route: { page: 'metrics' }, label: 'Metrics' },
  { route: { page: 'health' }, label: 'Health' },
];

function Shell({ session, onLogout }: { readonly session: Session; readonly onLogout: () => void }) {
  const route = useRoute();
  const section = route.page === 'objects' || route.page === 'object' || route.page === 'search' ? 'spaces' : route.page;
  return (
    <>
      <header class="top">
        <a class="brand" href="#/spaces">spacekv</a>
        <nav aria-label="Sections">
          {NAV.map((n) => <a href={hrefOf(n.route)} aria-current={section === n.route.page ? 'page' : undefined}>{n.label}</a>)}
        </nav>
        {storedToken() !== undefined && <button class="link" onClick={onLogout}>Log out</button>}
      </header>
      <main>{page(route, session)}</main>
    </>
  );
}

function page(route: Route, session: Session) {
  switch (route.page) {
    case 'spaces': return <SpacesPage session={session} />;
    case 'objects': return <ObjectsPage session={session} space={route.space} />;
    case 'object': return <ObjectPage session={session} space={route.space} keyText={route.key} />;
    case 'search': return <SearchPage session={session} space={route.space} />;
    case 'changes': return <ChangesPage session={session} />;
    case 'metrics': return <MetricsPage session={session} />;
    case 'health': return <HealthPage session={session} />;
  }
}
