// The namespace controller against a real API server: deleting a Namespace removes everything in it (built-in
// kinds, berth's kinds, a user CRD's objects) and then the Namespace; an object held by a finalizer keeps it
// Terminating, with conditions that say so, until the finalizer goes; PUT …/finalize changes only
// spec.finalizers; of two controller managers only the Lease holder acts.
import t from 'tap';
import { startControllers, type RunningControllers } from '../../src/index.js';
import { eventually, request, startTestServer, type TestServer } from '@berth/testkit';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

interface Namespace {
  metadata: {
    name: string;
    labels?: Record<string, string>;
    resourceVersion?: string;
    deletionTimestamp?: string;
    finalizers?: string[];
  };
  spec?: { finalizers?: string[] };
  status?: { phase?: string; conditions?: Condition[] };
}

const json = (body: unknown) => ({ body: JSON.stringify(body), contentType: 'application/json' });

async function create(ts: TestServer, path: string, body: unknown): Promise<void> {
  const res = await request(ts, 'POST', path, json(body));
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${res.text}`);
}

const getNamespace = async (ts: TestServer, name: string) => request(ts, 'GET', `/api/v1/namespaces/${name}`);

const widgetsCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
    scope: 'Namespaced',
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
          },
        },
      },
    ],
  },
};

/** A namespace holding one object of each kind the test checks; returns their paths. */
async function populate(ts: TestServer, ns: string): Promise<string[]> {
  await create(ts, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const paths = [
    `/api/v1/namespaces/${ns}/configmaps/cm`,
    `/api/v1/namespaces/${ns}/secrets/sec`,
    `/apis/berth.dev/v1alpha1/namespaces/${ns}/containers/web`,
    `/apis/example.com/v1/namespaces/${ns}/widgets/w`,
  ];
  await create(ts, `/api/v1/namespaces/${ns}/configmaps`, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cm' },
    data: { a: 'b' },
  });
  await create(ts, `/api/v1/namespaces/${ns}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'sec' },
    stringData: { pw: 'x' },
  });
  await create(ts, `/apis/berth.dev/v1alpha1/namespaces/${ns}/containers`, {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: { name: 'web' },
    spec: { image: 'busybox' },
  });
  await create(ts, `/apis/example.com/v1/namespaces/${ns}/widgets`, {
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: { name: 'w' },
    spec: { size: 1 },
  });
  return paths;
}

t.test('namespace controller', async (t) => {
  // Without the fixture's own controllers: this test starts the ones it drives.
  const ts = await startTestServer({ controllers: false });
  t.teardown(() => ts.close());
  await create(ts, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', widgetsCrd);
  t.ok(
    await eventually(async () => (await request(ts, 'GET', '/apis/example.com/v1')).status === 200),
    'the CRD is served',
  );

  t.test('without the controller a deleted namespace stays Terminating with its content', async (t) => {
    const paths = await populate(ts, 'orphaned');
    const del = await request(ts, 'DELETE', '/api/v1/namespaces/orphaned');
    t.equal(del.status, 200);
    const ns = del.json<Namespace>();
    t.equal(ns.status?.phase, 'Terminating');
    t.same(ns.spec?.finalizers, ['kubernetes'], 'the API server put the controller token in spec.finalizers on create');
    for (const p of paths)
      t.equal(
        (await request(ts, 'GET', p)).status,
        200,
        `${p} is still there: the API server deletes no content itself`,
      );
  });

  let controllers: RunningControllers | undefined = await startControllers({
    kubeconfig: ts.kubeconfig,
    leaderElection: false,
    namespace: { contentRemainingRequeueMs: 200 },
  });
  t.teardown(() => controllers?.close());
  const outcomes: string[] = [];
  controllers.controllers.get('namespace')!.observe((req, outcome) => outcomes.push(`${req.name}:${outcome}`));

  t.test('the namespace left Terminating before the controller started is finished once it runs', async (t) => {
    t.ok(await eventually(async () => (await getNamespace(ts, 'orphaned')).status === 404), 'namespace gone');
    for (const p of ['configmaps/cm', 'secrets/sec'])
      t.equal((await request(ts, 'GET', `/api/v1/namespaces/orphaned/${p}`)).status, 404);
  });

  t.test(
    'kubectl delete namespace removes ConfigMaps, Secrets, Containers and custom resources, then the namespace',
    async (t) => {
      const paths = await populate(ts, 'demo');
      const started = Date.now();
      const del = await ts.kubectl(['delete', 'namespace', 'demo', '--timeout=30s']);
      t.equal(del.code, 0, del.stderr);
      t.match(del.stdout, /namespace "demo" deleted/);
      t.ok(await eventually(async () => (await ts.kubectl(['get', 'ns', 'demo'])).code !== 0, 5000), 'gone within 5 s');
      const gone = await ts.kubectl(['get', 'ns', 'demo']);
      t.match(gone.stderr, /NotFound|not found/);
      t.comment(`namespace deletion took ${Date.now() - started} ms (kubectl included)`);
      for (const p of paths) t.equal((await request(ts, 'GET', p)).status, 404, `${p} deleted`);
    },
  );

  t.test(
    'an object held by a finalizer keeps the namespace Terminating, with conditions, until it is released',
    async (t) => {
      await populate(ts, 'held');
      await create(ts, '/api/v1/namespaces/held/configmaps', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'kept', finalizers: ['example.com/hold'] },
      });
      const seen = outcomes.length;
      t.equal((await request(ts, 'DELETE', '/api/v1/namespaces/held')).status, 200);
      const conditionsOf = async () =>
        new Map(((await getNamespace(ts, 'held')).json<Namespace>().status?.conditions ?? []).map((c) => [c.type, c]));
      t.ok(
        await eventually(async () => (await conditionsOf()).get('NamespaceFinalizersRemaining')?.status === 'True'),
        'finalizers-remaining condition set',
      );
      const conditions = await conditionsOf();
      t.match(conditions.get('NamespaceContentRemaining'), {
        status: 'True',
        reason: 'SomeResourcesRemain',
        message: 'Some resources are remaining: configmaps has 1 resource instances',
      });
      t.match(conditions.get('NamespaceFinalizersRemaining'), {
        status: 'True',
        reason: 'SomeFinalizersRemain',
        message: 'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances',
      });
      t.match(conditions.get('NamespaceDeletionDiscoveryFailure'), { status: 'False', reason: 'ResourcesDiscovered' });
      t.match(conditions.get('NamespaceDeletionContentFailure'), { status: 'False', reason: 'ContentDeleted' });
      // The controller keeps looking (requeues) and the namespace stays while the finalizer holds.
      t.ok(
        await eventually(() => outcomes.slice(seen).filter((o) => o === 'held:requeue-after').length >= 3),
        'requeued while content remains',
      );
      const still = (await getNamespace(ts, 'held')).json<Namespace>();
      t.equal(still.status?.phase, 'Terminating');
      t.same(still.spec?.finalizers, ['kubernetes'], 'not finalized while content remains');
      const kept = (await request(ts, 'GET', '/api/v1/namespaces/held/configmaps/kept')).json<{
        metadata: { deletionTimestamp?: string };
      }>();
      t.ok(kept.metadata.deletionTimestamp !== undefined, 'the held object is marked for deletion');
      t.equal((await request(ts, 'GET', '/api/v1/namespaces/held/secrets/sec')).status, 404, 'the rest is gone');

      const released = await request(ts, 'PATCH', '/api/v1/namespaces/held/configmaps/kept', {
        body: '{"metadata":{"finalizers":null}}',
        contentType: 'application/merge-patch+json',
      });
      t.equal(released.status, 200);
      t.ok(
        await eventually(async () => (await getNamespace(ts, 'held')).status === 404, 5000),
        'namespace gone once the finalizer is removed',
      );
    },
  );

  t.test(
    'PUT finalize changes spec.finalizers and nothing else; the namespace goes when no finalizer is left',
    async (t) => {
      await create(ts, '/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'fin', labels: { a: 'b' } },
        spec: { finalizers: ['example.com/mine'] },
      });
      const created = (await getNamespace(ts, 'fin')).json<Namespace>();
      t.same(
        created.spec?.finalizers,
        ['example.com/mine', 'kubernetes'],
        'create keeps named finalizers and adds kubernetes',
      );
      const body: Namespace = {
        ...created,
        metadata: { ...created.metadata, labels: { a: 'changed' } },
        spec: { finalizers: ['example.com/mine', 'example.com/other', 'kubernetes'] },
        status: { phase: 'Terminating' },
      };
      const put = await request(ts, 'PUT', '/api/v1/namespaces/fin/finalize', json(body));
      t.equal(put.status, 200, 'finalize answers 200');
      const after = put.json<Namespace>();
      t.same(after.spec?.finalizers, ['example.com/mine', 'example.com/other', 'kubernetes']);
      t.same(after.metadata.labels, { a: 'b' }, 'labels unchanged');
      t.equal(after.status?.phase, 'Active', 'status unchanged');
      t.equal(after.metadata.deletionTimestamp, undefined);
      t.same((await getNamespace(ts, 'fin')).json<Namespace>().spec?.finalizers, after.spec?.finalizers, 'stored');
      const viaMain = await request(ts, 'PUT', '/api/v1/namespaces/fin', json({ ...after, spec: { finalizers: [] } }));
      t.same(
        viaMain.json<Namespace>().spec?.finalizers,
        after.spec?.finalizers,
        'the main resource does not change spec.finalizers',
      );
      t.equal(
        (
          await request(ts, 'PATCH', '/api/v1/namespaces/fin/finalize', {
            body: '{}',
            contentType: 'application/merge-patch+json',
          })
        ).status,
        405,
        'finalize is PUT only',
      );
      t.equal((await request(ts, 'GET', '/api/v1/namespaces/fin/finalize')).status, 405);
      t.equal(
        (await request(ts, 'PUT', '/api/v1/namespaces/default/configmaps/x/finalize', json({}))).status,
        404,
        'no finalize on other kinds',
      );
      const core = (await request(ts, 'GET', '/api/v1')).json<{ resources: { name: string; verbs: string[] }[] }>();
      t.same(
        core.resources.find((r) => r.name === 'namespaces/finalize')?.verbs,
        ['update'],
        'discovery lists namespaces/finalize',
      );

      // Deleted: the controller empties it and removes only its own token; the others hold it Terminating.
      t.equal((await request(ts, 'DELETE', '/api/v1/namespaces/fin')).status, 200);
      t.ok(
        await eventually(
          async () =>
            JSON.stringify((await getNamespace(ts, 'fin')).json<Namespace>().spec?.finalizers) ===
            '["example.com/mine","example.com/other"]',
        ),
        'controller removed kubernetes',
      );
      const terminating = (await getNamespace(ts, 'fin')).json<Namespace>();
      t.equal(terminating.status?.phase, 'Terminating');
      t.match(
        terminating.status?.conditions?.find((c) => c.type === 'NamespaceContentRemaining'),
        { status: 'False', reason: 'ContentRemoved' },
      );
      const last = await request(
        ts,
        'PUT',
        '/api/v1/namespaces/fin/finalize',
        json({ ...terminating, spec: { finalizers: [] } }),
      );
      t.equal(last.status, 200, 'the last finalize answers 200');
      t.equal(
        (await getNamespace(ts, 'fin')).status,
        404,
        'removed by the API server once spec.finalizers and metadata.finalizers are empty',
      );
    },
  );

  t.test('of two controller managers only the Lease holder acts; the other takes over when it stops', async (t) => {
    await controllers?.close();
    controllers = undefined;
    const fast = { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 100 };
    const a = await startControllers({ kubeconfig: ts.kubeconfig, leaderElection: { identity: 'manager-a', ...fast } });
    t.teardown(() => a.close());
    t.ok(await eventually(() => a.isLeader), 'a leads');
    const b = await startControllers({ kubeconfig: ts.kubeconfig, leaderElection: { identity: 'manager-b', ...fast } });
    t.teardown(() => b.close());
    const acted = { a: 0, b: 0 };
    a.controllers.get('namespace')!.observe(() => acted.a++);
    b.controllers.get('namespace')!.observe(() => acted.b++);
    const lease = (
      await request(ts, 'GET', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/berth-controller-manager')
    ).json<{ spec: { holderIdentity: string } }>();
    t.equal(lease.spec.holderIdentity, 'manager-a', 'the Lease in kube-system names a');

    await populate(ts, 'first');
    t.equal((await request(ts, 'DELETE', '/api/v1/namespaces/first')).status, 200);
    t.ok(await eventually(async () => (await getNamespace(ts, 'first')).status === 404), 'deleted while a leads');
    t.ok(acted.a > 0, 'a reconciled');
    t.equal(acted.b, 0, 'b did not act beside a');
    t.equal(b.isLeader, false);

    await a.close();
    t.ok(await eventually(() => b.isLeader, 5000), 'b takes over');
    await populate(ts, 'second');
    t.equal((await request(ts, 'DELETE', '/api/v1/namespaces/second')).status, 200);
    t.ok(await eventually(async () => (await getNamespace(ts, 'second')).status === 404), 'deleted by b');
    t.ok(acted.b > 0, 'b reconciled once leading');
  });
});
