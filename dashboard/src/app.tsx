// The dashboard's shell: the login gate, the kinds on the left, the namespace picker on top, and the routes
// (hash-based, so the server serves one page): #/kind, #/kind/namespace/name[/tab].

import { useEffect, useState } from 'preact/hooks';
import { Link, Redirect, Route, Router, Switch, useRoute } from 'wouter-preact';
import { useHashLocation } from 'wouter-preact/use-hash-location';
import { resourceType, resourceTypes } from './api/resources.js';
import { currentToken, onTokenChange, setToken } from './api/token.js';
import { useCollection } from './api/use-collection.js';
import { Login, whoAmI } from './views/login.js';
import { ObjectDetail } from './views/object-detail.js';
import { ResourceList } from './views/resource-list.js';

const allNamespaces = '';
const namespaceKey = 'berth.namespace';

function NamespacePicker(props: { value: string; onChange: (ns: string) => void }) {
  const state = useCollection(resourceType('namespaces')!, undefined);
  return (
    <label class="namespace">
      Namespace{' '}
      <select
        aria-label="Namespace"
        value={props.value}
        onChange={(e) => props.onChange((e.currentTarget as HTMLSelectElement).value)}
      >
        <option value={allNamespaces}>All namespaces</option>
        {state.items.map((ns) => (
          <option key={ns.metadata.name} value={ns.metadata.name}>
            {ns.metadata.name}
          </option>
        ))}
      </select>
    </label>
  );
}

function Navigation() {
  const [, params] = useRoute<{ kind: string }>('/:kind/*?');
  return (
    <nav class="kinds" aria-label="Kinds">
      {resourceTypes.map((r) => (
        <Link key={r.id} href={`/${r.id}`} class={params?.kind === r.id ? 'active' : ''}>
          {r.title}
        </Link>
      ))}
    </nav>
  );
}

function Shell() {
  const [namespace, setNamespace] = useState(localStorage.getItem(namespaceKey) ?? allNamespaces);
  const [user, setUser] = useState<string>();
  useEffect(() => {
    whoAmI().then(
      (r) => setUser(r.status?.userInfo?.username),
      () => undefined,
    );
  }, []);
  const ns = namespace === allNamespaces ? undefined : namespace;
  return (
    <Router hook={useHashLocation}>
      <div class="shell">
        <header class="top">
          <span class="brand">berth</span>
          <NamespacePicker
            value={namespace}
            onChange={(n) => {
              setNamespace(n);
              localStorage.setItem(namespaceKey, n);
            }}
          />
          <span class="user" data-testid="user">
            {user ?? ''}
          </span>
          <button type="button" onClick={() => setToken(undefined)}>
            Sign out
          </button>
        </header>
        <Navigation />
        <main class="content">
          <Switch>
            <Route path="/:kind/:namespace/:name/:tab?">
              {(p: { kind: string; namespace: string; name: string; tab?: string }) => {
                const r = resourceType(p.kind);
                return r === undefined ? (
                  <p>Unknown kind {p.kind}</p>
                ) : (
                  <ObjectDetail
                    key={`${p.kind}/${p.namespace}/${p.name}`}
                    resource={r}
                    namespace={p.namespace === '_' ? undefined : p.namespace}
                    name={p.name}
                    tab={p.tab ?? 'summary'}
                  />
                );
              }}
            </Route>
            <Route path="/:kind">
              {(p: { kind: string }) => {
                const r = resourceType(p.kind);
                return r === undefined ? (
                  <p>Unknown kind {p.kind}</p>
                ) : (
                  <ResourceList key={`${p.kind}/${namespace}`} resource={r} namespace={ns} />
                );
              }}
            </Route>
            <Route>
              <Redirect to="/containers" />
            </Route>
          </Switch>
        </main>
      </div>
    </Router>
  );
}

export function App() {
  const [token, setTokenState] = useState(currentToken());
  useEffect(() => onTokenChange(() => setTokenState(currentToken())), []);
  return token === undefined ? <Login /> : <Shell />;
}
