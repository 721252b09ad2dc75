// The garbage collector against a real API server, driven by the real kubectl: `kubectl delete --cascade=
// background|foreground|orphan` on an owner does what it does on Kubernetes (dependents deleted after it, before
// it while they block it, or kept and let go), for ConfigMaps owning ConfigMaps and for a Service owning its
// Containers; an object with a second owner only loses the reference; dependents of an owner deleted while the
// collector was down are collected when it starts again; a cluster-scoped owner of a namespaced object is fine,
// a namespaced owner elsewhere is not (a Warning Event says why).
import t from 'tap';
import { startControllers, type RunningControllers } from '../../src/index.js';
import { eventually, request, startTestServer, type TestServer } from '@berth/testkit';

interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}
interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    finalizers?: string[];
    deletionTimestamp?: string;
    ownerReferences?: OwnerRef[];
  };
}
interface Event {
  reason: string;
  type: string;
  message: string;
  involvedObject: { name: string; uid?: string };
  source?: { component?: string };
}

const json = (body: unknown) => ({ body: JSON.stringify(body), contentType: 'application/json' });
const cmPath = (ns: string, name = '') => `/api/v1/namespaces/${ns}/configmaps${name === '' ? '' : `/${name}`}`;

async function create(ts: TestServer, path: string, body: unknown): Promise<Obj> {
  const res = await request(ts, 'POST', path, json(body));
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${res.text}`);
  return res.json<Obj>();
}

const configMap = (name: string, meta: Partial<Obj['metadata']> = {}) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...meta },
  data: { k: 'v' },
});

const refTo = (owner: Obj, extra: Partial<OwnerRef> = {}): OwnerRef => ({
  apiVersion: owner.apiVersion ?? 'v1',
  kind: owner.kind ?? 'ConfigMap',
  name: owner.metadata.name,
  uid: owner.metadata.uid ?? '',
  ...extra,
});

async function get(ts: TestServer, path: string): Promise<Obj | undefined> {
  const res = await request(ts, 'GET', path);
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.text}`);
  return res.json<Obj>();
}

const gone = (ts: TestServer, path: string) => eventually(async () => (await get(ts, path)) === undefined, 30_000);

async function events(ts: TestServer, ns: string, uid: string): Promise<Event[]> {
  const res = await request(ts, 'GET', `/api/v1/namespaces/${ns}/events?fieldSelector=involvedObject.uid%3D${uid}`);
  return res.json<{ items: Event[] }>().items;
}

const hasEvent = (ts: TestServer, ns: string, uid: string, reason: string) =>
  eventually(async () => (await events(ts, ns, uid)).some((e) => e.reason === reason), 30_000);

async function newNamespace(ts: TestServer, name: string): Promise<void> {
  await create(ts, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

/** An owner ConfigMap and dependents, in a fresh namespace. */
async function family(
  ts: TestServer,
  ns: string,
  dependents: Record<string, Partial<OwnerRef> & { finalizers?: string[] }>,
) {
  await newNamespace(ts, ns);
  const owner = await create(ts, cmPath(ns), configMap('owner'));
  const deps: Record<string, Obj> = {};
  for (const [name, { finalizers, ...ref }] of Object.entries(dependents))
    deps[name] = await create(
      ts,
      cmPath(ns),
      configMap(name, { ownerReferences: [refTo(owner, ref)], ...(finalizers === undefined ? {} : { finalizers }) }),
    );
  return { owner, deps };
}

async function startGc(ts: TestServer): Promise<RunningControllers> {
  // Without the Service controller: this file's Services own Containers made by hand.
  return startControllers({ kubeconfig: ts.kubeconfig, leaderElection: false, controllers: ['*', '-service'] });
}

t.test('kubectl delete --cascade on ConfigMaps owning ConfigMaps', async (t) => {
  const ts = await startTestServer({ controllers: false });
  let controllers = await startGc(ts);
  t.teardown(async () => {
    await controllers.close();
    await ts.close();
  });

  t.test('background (the default): the owner goes at once, its dependents after it', async (t) => {
    const { owner, deps } = await family(ts, 'bg', { a: { blockOwnerDeletion: true }, b: {} });
    const res = await ts.kubectl(['delete', 'configmap', 'owner', '-n', 'bg']);
    t.equal(res.code, 0, res.stderr);
    t.equal(await get(ts, cmPath('bg', 'owner')), undefined, 'the owner is gone when kubectl returns');
    t.ok(await gone(ts, cmPath('bg', 'a')), 'dependent a collected');
    t.ok(await gone(ts, cmPath('bg', 'b')), 'dependent b collected');
    t.ok(await hasEvent(ts, 'bg', deps['a']?.metadata.uid ?? '', 'GarbageCollected'), 'an Event says why');
    const [event] = (await events(ts, 'bg', deps['a']?.metadata.uid ?? '')).filter(
      (e) => e.reason === 'GarbageCollected',
    );
    t.match(event?.message, `Deleted with propagationPolicy Background: its owners are gone: ConfigMap owner`);
    t.equal(event?.source?.component, 'garbage-collector-controller');
    t.ok(owner.metadata.uid);
  });

  t.test('foreground: dependents go first, the owner waits for those that block it', async (t) => {
    const { deps } = await family(ts, 'fg', {
      held: { blockOwnerDeletion: true, finalizers: ['example.com/hold'] },
      free: { blockOwnerDeletion: false },
    });
    // A grandchild under `held`: the cascade goes all the way down.
    await create(
      ts,
      cmPath('fg'),
      configMap('grandchild', {
        ownerReferences: [refTo({ ...deps['held']!, kind: 'ConfigMap' }, { blockOwnerDeletion: true })],
      }),
    );
    const res = await ts.kubectl(['delete', 'configmap', 'owner', '-n', 'fg', '--cascade=foreground', '--wait=false']);
    t.equal(res.code, 0, res.stderr);
    const owner = await get(ts, cmPath('fg', 'owner'));
    t.ok(owner?.metadata.deletionTimestamp, 'the owner is terminating');
    t.same(owner?.metadata.finalizers, ['foregroundDeletion'], 'held by foregroundDeletion');
    t.ok(await gone(ts, cmPath('fg', 'free')), 'a non-blocking dependent is deleted too');
    t.ok(await gone(ts, cmPath('fg', 'grandchild')), 'and the dependent of a dependent');
    t.ok(
      await eventually(async () => (await get(ts, cmPath('fg', 'held')))?.metadata.deletionTimestamp !== undefined),
      'the blocking dependent is being deleted',
    );
    t.ok(await get(ts, cmPath('fg', 'owner')), 'the owner stays while a blocking dependent exists');
    const wait = ts.kubectl(['wait', '--for=delete', 'configmap/owner', '-n', 'fg', '--timeout=60s']);
    const removed = await request(ts, 'PATCH', cmPath('fg', 'held'), {
      body: JSON.stringify({ metadata: { finalizers: null } }),
      contentType: 'application/merge-patch+json',
    });
    t.equal(removed.status, 200, removed.text);
    t.equal((await wait).code, 0, 'then the owner goes');
    t.equal(await get(ts, cmPath('fg', 'owner')), undefined);
  });

  t.test('foreground, waiting in kubectl as a user would', async (t) => {
    await family(ts, 'fgw', { a: { blockOwnerDeletion: true }, b: { blockOwnerDeletion: true } });
    const res = await ts.kubectl([
      'delete',
      'configmap',
      'owner',
      '-n',
      'fgw',
      '--cascade=foreground',
      '--timeout=60s',
    ]);
    t.equal(res.code, 0, res.stderr);
    t.match(res.stdout, 'configmap "owner" deleted');
    t.equal(await get(ts, cmPath('fgw', 'owner')), undefined, 'gone when kubectl returns');
    t.equal(await get(ts, cmPath('fgw', 'a')), undefined, 'with its dependents gone before it');
    t.equal(await get(ts, cmPath('fgw', 'b')), undefined);
  });

  t.test('orphan: the owner goes, its dependents stay and let go of it', async (t) => {
    const { deps } = await family(ts, 'or', { a: { blockOwnerDeletion: true, controller: true }, b: {} });
    const other = await create(ts, cmPath('or'), configMap('other'));
    const twoOwners = await request(ts, 'PATCH', cmPath('or', 'b'), {
      body: JSON.stringify([{ op: 'add', path: '/metadata/ownerReferences/-', value: refTo(other) }]),
      contentType: 'application/json-patch+json',
    });
    t.equal(twoOwners.status, 200, twoOwners.text);
    const res = await ts.kubectl(['delete', 'configmap', 'owner', '-n', 'or', '--cascade=orphan', '--timeout=60s']);
    t.equal(res.code, 0, res.stderr);
    t.equal(await get(ts, cmPath('or', 'owner')), undefined, 'the owner is gone when kubectl returns');
    const a = await get(ts, cmPath('or', 'a'));
    const b = await get(ts, cmPath('or', 'b'));
    t.ok(a, 'dependent a stays');
    t.equal(a?.metadata.ownerReferences, undefined, 'without its owner reference');
    t.same(
      b?.metadata.ownerReferences?.map((r) => r.name),
      ['other'],
      'b keeps its other owner',
    );
    t.ok(await hasEvent(ts, 'or', deps['a']?.metadata.uid ?? '', 'Orphaned'));
  });

  t.test('an object with another owner only loses the reference to the gone one', async (t) => {
    await newNamespace(ts, 'two');
    const first = await create(ts, cmPath('two'), configMap('first'));
    const second = await create(ts, cmPath('two'), configMap('second'));
    const dep = await create(ts, cmPath('two'), configMap('dep', { ownerReferences: [refTo(first), refTo(second)] }));
    t.equal((await ts.kubectl(['delete', 'configmap', 'first', '-n', 'two'])).code, 0);
    t.ok(
      await eventually(
        async () => (await get(ts, cmPath('two', 'dep')))?.metadata.ownerReferences?.length === 1,
        30_000,
      ),
      'the reference to the deleted owner is removed',
    );
    t.same(
      (await get(ts, cmPath('two', 'dep')))?.metadata.ownerReferences?.map((r) => r.name),
      ['second'],
    );
    t.ok(await hasEvent(ts, 'two', dep.metadata.uid ?? '', 'OwnerReferencesRemoved'));
    t.equal((await ts.kubectl(['delete', 'configmap', 'second', '-n', 'two'])).code, 0);
    t.ok(await gone(ts, cmPath('two', 'dep')), 'and the object goes with its last owner');
  });

  t.test('foreground deletion of two objects that block each other does not wait forever', async (t) => {
    await newNamespace(ts, 'cycle');
    const x = await create(ts, cmPath('cycle'), configMap('x'));
    const y = await create(
      ts,
      cmPath('cycle'),
      configMap('y', { ownerReferences: [refTo(x, { blockOwnerDeletion: true })] }),
    );
    const patched = await request(ts, 'PATCH', cmPath('cycle', 'x'), {
      body: JSON.stringify({ metadata: { ownerReferences: [refTo(y, { blockOwnerDeletion: true })] } }),
      contentType: 'application/merge-patch+json',
    });
    t.equal(patched.status, 200, patched.text);
    const res = await ts.kubectl(['delete', 'configmap', 'x', '-n', 'cycle', '--cascade=foreground', '--timeout=60s']);
    t.equal(res.code, 0, res.stderr);
    t.ok(await gone(ts, cmPath('cycle', 'y')), 'both go');
  });

  t.test('owners deleted while the collector is down are collected after it starts again', async (t) => {
    await family(ts, 'down', { a: {}, b: {} });
    await family(ts, 'down-orphan', { c: {} });
    await controllers.close();
    t.equal((await ts.kubectl(['delete', 'configmap', 'owner', '-n', 'down'])).code, 0);
    t.equal(
      (await ts.kubectl(['delete', 'configmap', 'owner', '-n', 'down-orphan', '--cascade=orphan', '--wait=false']))
        .code,
      0,
    );
    t.ok(await get(ts, cmPath('down', 'a')), 'nothing collects while it is down');
    t.same((await get(ts, cmPath('down-orphan', 'owner')))?.metadata.finalizers, ['orphan']);
    controllers = await startGc(ts);
    t.ok(await gone(ts, cmPath('down', 'a')), 'after the restart: collected');
    t.ok(await gone(ts, cmPath('down', 'b')));
    t.ok(await gone(ts, cmPath('down-orphan', 'owner')), 'and the orphaning finished');
    t.equal((await get(ts, cmPath('down-orphan', 'c')))?.metadata.ownerReferences, undefined);
  });
});

t.test('owner references across scopes and namespaces', async (t) => {
  const ts = await startTestServer({ controllers: false });
  const controllers = await startGc(ts);
  t.teardown(async () => {
    await controllers.close();
    await ts.close();
  });
  await newNamespace(ts, 'a');
  await newNamespace(ts, 'b');
  const node = await create(ts, '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'owner-node' } });

  // A namespaced object may have a cluster-scoped owner: it lives while the owner does.
  const byNode = await create(ts, cmPath('a'), configMap('by-node', { ownerReferences: [refTo(node)] }));
  // A namespaced owner is looked for in the dependent's namespace only: owner-a lives in `a`, not in `b`.
  const ownerA = await create(ts, cmPath('a'), configMap('owner-a'));
  const elsewhere = await create(ts, cmPath('b'), configMap('elsewhere', { ownerReferences: [refTo(ownerA)] }));
  // A cluster-scoped object cannot have a namespaced owner: invalid, left alone.
  const badNode = await create(ts, '/api/v1/nodes', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'owned-by-configmap', ownerReferences: [refTo(ownerA)] },
  });

  t.ok(await gone(ts, cmPath('b', 'elsewhere')), 'an owner in another namespace counts as absent: collected');
  t.ok(await hasEvent(ts, 'b', elsewhere.metadata.uid ?? '', 'OwnerRefInvalidNamespace'), 'with a Warning');
  const [warning] = (await events(ts, 'b', elsewhere.metadata.uid ?? '')).filter(
    (e) => e.reason === 'OwnerRefInvalidNamespace',
  );
  t.equal(warning?.type, 'Warning');
  t.equal(
    warning?.message,
    `ownerRef [v1/ConfigMap, namespace: b, name: owner-a, uid: ${ownerA.metadata.uid}] does not exist in namespace "b"`,
  );
  t.ok(
    await hasEvent(ts, 'default', badNode.metadata.uid ?? '', 'OwnerRefInvalidNamespace'),
    'a cluster-scoped object naming a namespaced owner gets a Warning',
  );
  t.ok(await get(ts, '/api/v1/nodes/owned-by-configmap'), 'and is not collected');
  t.ok(await get(ts, cmPath('a', 'by-node')), 'the ConfigMap owned by a Node stays while the Node does');

  t.equal((await ts.kubectl(['delete', 'node', 'owner-node'])).code, 0);
  t.ok(await gone(ts, cmPath('a', 'by-node')), 'and goes with it');
  t.ok(byNode.metadata.uid);
});

t.test('a Service owning its Containers, deleted with each --cascade', async (t) => {
  const ts = await startTestServer({ controllers: false });
  const controllers = await startGc(ts);
  t.teardown(async () => {
    await controllers.close();
    await ts.close();
  });
  const svcPath = (name = '') => `/apis/berth.dev/v1alpha1/namespaces/default/services${name === '' ? '' : `/${name}`}`;
  const ctrPath = (name = '') =>
    `/apis/berth.dev/v1alpha1/namespaces/default/containers${name === '' ? '' : `/${name}`}`;
  const template = { spec: { image: 'busybox' } };
  async function serviceWithReplicas(name: string): Promise<string[]> {
    const svc = await create(ts, svcPath(), {
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Service',
      metadata: { name },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, ...template },
      },
    });
    const names = [`${name}-0`, `${name}-1`];
    for (const n of names)
      await create(ts, ctrPath(), {
        apiVersion: 'berth.dev/v1alpha1',
        kind: 'Container',
        metadata: {
          name: n,
          labels: { app: name },
          // As a Service controller writes them; the node agent's finalizer stands in for a running container.
          finalizers: ['example.com/running'],
          ownerReferences: [refTo(svc, { controller: true, blockOwnerDeletion: true })],
        },
        spec: template.spec,
      });
    return names;
  }
  const release = async (name: string) => {
    const res = await request(ts, 'PATCH', ctrPath(name), {
      body: JSON.stringify({ metadata: { finalizers: null } }),
      contentType: 'application/merge-patch+json',
    });
    if (res.status !== 200 && res.status !== 404) throw new Error(`release ${name}: ${res.status} ${res.text}`);
  };

  const bg = await serviceWithReplicas('web-bg');
  t.equal((await ts.kubectl(['delete', 'services.berth.dev', 'web-bg'])).code, 0);
  t.equal(await get(ts, svcPath('web-bg')), undefined, 'background: the Service is gone at once');
  for (const n of bg)
    t.ok(
      await eventually(async () => (await get(ts, ctrPath(n)))?.metadata.deletionTimestamp !== undefined, 30_000),
      `${n} is being deleted after it`,
    );
  for (const n of bg) await release(n);

  const fg = await serviceWithReplicas('web-fg');
  t.equal(
    (await ts.kubectl(['delete', 'services.berth.dev', 'web-fg', '--cascade=foreground', '--wait=false'])).code,
    0,
  );
  for (const n of fg)
    t.ok(
      await eventually(async () => (await get(ts, ctrPath(n)))?.metadata.deletionTimestamp !== undefined, 30_000),
      `foreground: ${n} is being deleted first`,
    );
  t.ok((await get(ts, svcPath('web-fg')))?.metadata.deletionTimestamp, 'while the Service waits');
  for (const n of fg) await release(n);
  t.ok(await gone(ts, svcPath('web-fg')), 'and goes once its replicas are gone');

  const or = await serviceWithReplicas('web-or');
  t.equal((await ts.kubectl(['delete', 'services.berth.dev', 'web-or', '--cascade=orphan'])).code, 0);
  t.equal(await get(ts, svcPath('web-or')), undefined, 'orphan: the Service is gone');
  for (const n of or) {
    const c = await get(ts, ctrPath(n));
    t.ok(c && c.metadata.deletionTimestamp === undefined, `${n} keeps running`);
    t.equal(c?.metadata.ownerReferences, undefined, `${n} is no longer owned`);
  }
});

t.test(
  'a CRD created after the collector started: its objects own and are owned; deleted, it is dropped',
  async (t) => {
    const ts = await startTestServer({ controllers: false });
    const controllers = await startControllers({
      kubeconfig: ts.kubeconfig,
      leaderElection: false,
      garbageCollector: { resyncPeriodMs: 200 },
    });
    t.teardown(async () => {
      await controllers.close();
      await ts.close();
    });
    const watchesBefore = controllers.manager.cache.size;
    await create(ts, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        scope: 'Namespaced',
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }],
      },
    });
    t.ok(
      await eventually(() => controllers.manager.cache.size > watchesBefore, 30_000),
      'the next discovery resync watches the new kind',
    );
    const watchesWithWidgets = controllers.manager.cache.size;
    const widgets = (name = '') => `/apis/example.com/v1/namespaces/default/widgets${name === '' ? '' : `/${name}`}`;
    const owner = await create(ts, widgets(), {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w' },
    });
    const cm = await create(ts, cmPath('default'), configMap('owned-by-widget', { ownerReferences: [refTo(owner)] }));
    await create(ts, widgets(), {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'owned-by-configmap', ownerReferences: [refTo(cm)] },
    });
    t.equal((await ts.kubectl(['delete', 'widgets.example.com', 'w'])).code, 0);
    t.ok(await gone(ts, cmPath('default', 'owned-by-widget')), "a Widget's dependent is collected");
    t.ok(await gone(ts, widgets('owned-by-configmap')), 'and so is a Widget whose owner went');

    t.equal((await ts.kubectl(['delete', 'crd', 'widgets.example.com'])).code, 0);
    t.ok(
      await eventually(() => controllers.manager.cache.size === watchesWithWidgets - 1, 30_000),
      'the deleted kind is no longer watched',
    );
  },
);
