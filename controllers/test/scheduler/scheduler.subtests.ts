// The scheduler against a real API server, with Nodes written through the API as agents write them: it binds
// unbound Containers only to Ready, uncordoned Nodes with room, spreads one group's replicas, honours
// nodeSelector, taints and tolerations and a Volume's node, and when nothing fits says why (Scheduled=False, a
// FailedScheduling Event `kubectl describe` shows) and binds as soon as a Node changes. The binding is a write
// that succeeds once: a second binding is a 409, and spec.nodeName of a bound Container cannot be changed.
import t from 'tap';
import { eventually, request, startTestServer } from '@berth/testkit';

interface Container {
  metadata: { name: string; uid?: string; resourceVersion?: string };
  spec: { nodeName?: string };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

// Its Nodes have no agent renewing their Leases: node lifecycle would turn them Unknown 40 s in, which a loaded
// machine reaches before the last subtests, so it is left out here (its own subtests cover it).
const ts = await startTestServer({
  controllers: { scheduler: { retryUnschedulableMs: 60_000 }, controllers: ['*', '-node-lifecycle'] },
});
t.teardown(() => ts.close());

const json = (body: unknown) => ({ body: JSON.stringify(body), contentType: 'application/json' });
const base = '/apis/berth.dev/v1alpha1/namespaces/default/containers';

async function post(path: string, body: unknown): Promise<void> {
  const res = await request(ts, 'POST', path, json(body));
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${res.text}`);
}

interface NodeShape {
  ready?: boolean;
  unschedulable?: boolean;
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  cpu?: string;
  memory?: string;
}

function nodeBody(name: string, n: NodeShape) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...n.labels } },
    spec: { ...(n.unschedulable ? { unschedulable: true } : {}), ...(n.taints ? { taints: n.taints } : {}) },
    status: {
      allocatable: { cpu: n.cpu ?? '2', memory: n.memory ?? '1Gi', pids: '1000' },
      capacity: { cpu: n.cpu ?? '2', memory: n.memory ?? '1Gi', pids: '1000' },
      conditions: [{ type: 'Ready', status: n.ready === false ? 'False' : 'True', reason: 'AgentReady' }],
    },
  };
}

const addNode = (name: string, n: NodeShape = {}) => post('/api/v1/nodes', nodeBody(name, n));

async function container(name: string, spec: Record<string, unknown> = {}, labels?: Record<string, string>) {
  await post(base, {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: { name, ...(labels ? { labels } : {}) },
    spec: { image: 'busybox', ...spec },
  });
}

async function get(name: string): Promise<Container> {
  const res = await request(ts, 'GET', `${base}/${name}`);
  if (res.status !== 200) throw new Error(`GET ${name}: ${res.status} ${res.text}`);
  return res.json<Container>();
}

async function boundTo(name: string): Promise<string> {
  let node = '';
  await eventually(async () => {
    node = (await get(name)).spec.nodeName ?? '';
    return node !== '';
  }, 20_000);
  return node;
}

const scheduled = (c: Container) => c.status?.conditions?.find((x) => x.type === 'Scheduled');

async function deleteAll(): Promise<void> {
  await request(ts, 'DELETE', base);
  await eventually(async () => (await request(ts, 'GET', base)).json<{ items: unknown[] }>().items.length === 0);
}

await addNode('n1');
await addNode('n2');
await addNode('cordoned', { unschedulable: true });
await addNode('down', { ready: false });

t.test('replicas of one group spread over the Ready, schedulable nodes', async (t) => {
  for (const i of [1, 2, 3, 4])
    await container(`web-${i}`, { resources: { requests: { cpu: '100m' } } }, { app: 'web' });
  const placed = await Promise.all([1, 2, 3, 4].map((i) => boundTo(`web-${i}`)));
  t.same(
    placed.filter((n) => n === 'n1').length,
    2,
    `two on n1, two on n2 (got ${placed.join(', ')}), none on the cordoned or the NotReady node`,
  );
  t.same([...new Set(placed)].sort(), ['n1', 'n2']);
  const describe = await ts.kubectl(['describe', 'containers.berth.dev', 'web-1']);
  t.match(describe.stdout, /Scheduled\s+.*\s+berth-scheduler\s+Successfully assigned default\/web-1 to n[12]/);
  await deleteAll();
});

t.test('nothing fits: Scheduled=False with the reasons and an Event, then bound once a node has room', async (t) => {
  await container('big', { resources: { requests: { memory: '3Gi' } } });
  let c: Container | undefined;
  t.ok(
    await eventually(async () => {
      c = await get('big');
      return scheduled(c)?.status === 'False';
    }, 20_000),
    'Scheduled=False',
  );
  t.equal(scheduled(c!)?.reason, 'Unschedulable');
  t.equal(
    scheduled(c!)?.message,
    '0/4 nodes are available: 1 node(s) were not ready, 1 node(s) were unschedulable, 2 Insufficient memory.',
  );
  t.equal(c!.spec.nodeName, undefined, 'still unbound');
  const describe = await ts.kubectl(['describe', 'containers.berth.dev', 'big']);
  t.match(describe.stdout, /Warning\s+FailedScheduling\s+.*\s+berth-scheduler\s+0\/4 nodes are available/);
  // A node with room arrives: the scheduler looks again at once (the periodic retry is a minute away).
  await addNode('roomy', { memory: '8Gi' });
  t.equal(await boundTo('big'), 'roomy');
  t.ok(await eventually(async () => scheduled(await get('big'))?.status === 'True'), 'Scheduled=True once bound');
  // Room is counted: a second 3Gi Container does not fit beside the first on roomy's 8Gi… but a 4Gi one does not
  // fit either: 3 + 4 <= 8, so it does; 3 + 6 > 8 does not.
  await container('big-2', { resources: { requests: { memory: '6Gi' } } });
  t.ok(
    await eventually(async () => scheduled(await get('big-2'))?.status === 'False', 20_000),
    'what is bound counts against allocatable',
  );
  t.match(scheduled(await get('big-2'))?.message, /3 Insufficient memory/);
  await request(ts, 'DELETE', `${base}/big`);
  t.equal(await boundTo('big-2'), 'roomy', 'a deleted Container frees its room');
  await deleteAll();
  await request(ts, 'DELETE', '/api/v1/nodes/roomy');
});

t.test('nodeSelector, taints and tolerations', async (t) => {
  await request(ts, 'PATCH', '/api/v1/nodes/n2', {
    body: JSON.stringify({ metadata: { labels: { disk: 'ssd' } } }),
    contentType: 'application/merge-patch+json',
  });
  await container('picky', { nodeSelector: { disk: 'ssd' } });
  t.equal(await boundTo('picky'), 'n2', 'nodeSelector');
  await request(ts, 'PATCH', '/api/v1/nodes/n2', {
    body: JSON.stringify({ spec: { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] } }),
    contentType: 'application/merge-patch+json',
  });
  await container('picky-2', { nodeSelector: { disk: 'ssd' } });
  t.ok(
    await eventually(async () => scheduled(await get('picky-2'))?.status === 'False', 20_000),
    'the only matching node is tainted',
  );
  t.match(scheduled(await get('picky-2'))?.message, /1 node\(s\) had untolerated taint \{dedicated: db\}/);
  await container('tolerant', {
    nodeSelector: { disk: 'ssd' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }],
  });
  t.equal(await boundTo('tolerant'), 'n2', 'a toleration lets it on');
  await request(ts, 'PATCH', '/api/v1/nodes/n2', {
    body: JSON.stringify({ spec: { taints: null } }),
    contentType: 'application/merge-patch+json',
  });
  t.equal(await boundTo('picky-2'), 'n2', 'the taint removed, the waiting one is bound');
  await deleteAll();
});

t.test('kubectl cordon keeps new Containers off a node; uncordon lets them back', async (t) => {
  const cordon = await ts.kubectl(['cordon', 'n1']);
  t.equal(cordon.code, 0, cordon.stderr);
  for (const i of [1, 2]) await container(`after-cordon-${i}`, {}, { app: 'after' });
  t.same([await boundTo('after-cordon-1'), await boundTo('after-cordon-2')], ['n2', 'n2'], 'both on n2');
  const uncordon = await ts.kubectl(['uncordon', 'n1']);
  t.equal(uncordon.code, 0, uncordon.stderr);
  await container('after-cordon-3', {}, { app: 'after' });
  t.equal(await boundTo('after-cordon-3'), 'n1', 'n1 takes work again (and has fewer of the group)');
  await deleteAll();
});

t.test("a Volume's node pins the Containers that mount it", async (t) => {
  await post('/apis/berth.dev/v1alpha1/namespaces/default/volumes', {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Volume',
    metadata: { name: 'data' },
    spec: {},
  });
  const res = await request(ts, 'PATCH', '/apis/berth.dev/v1alpha1/namespaces/default/volumes/data/status', {
    body: JSON.stringify({ status: { nodeName: 'n2' } }),
    contentType: 'application/merge-patch+json',
  });
  t.equal(res.status, 200, res.text);
  for (const i of [1, 2])
    await container(`db-${i}`, { volumes: [{ name: 'd', volumeRef: { name: 'data' } }] }, { app: 'db' });
  t.same([await boundTo('db-1'), await boundTo('db-2')], ['n2', 'n2'], 'both on the volume’s node, spread or not');
  await container('lost', { volumes: [{ name: 'd', volumeRef: { name: 'nope' } }] });
  t.ok(await eventually(async () => scheduled(await get('lost'))?.status === 'False', 20_000));
  t.match(scheduled(await get('lost'))?.message, /volume "nope" not found/);
  await deleteAll();
});

t.test('a binding succeeds once; a bound spec.nodeName is immutable', async (t) => {
  await container('pinned', { nodeName: 'n1' });
  const again = await request(ts, 'POST', `${base}/pinned/binding`, json({ target: { kind: 'Node', name: 'n2' } }));
  t.equal(again.status, 409, again.text);
  t.match(again.json<{ message: string }>().message, /container pinned is already assigned to node "n1"/);
  const moved = await request(ts, 'PATCH', `${base}/pinned`, {
    body: JSON.stringify({ spec: { nodeName: 'n2' } }),
    contentType: 'application/merge-patch+json',
  });
  t.equal(moved.status, 422, moved.text);
  t.match(
    moved.json<{ message: string }>().message,
    /spec.nodeName: Invalid value: "n2": field is immutable once the container is bound/,
  );
  const get = await request(ts, 'GET', `${base}/pinned/binding`);
  t.equal(get.status, 405, 'binding is POST only');
  const discovery = await request(ts, 'GET', '/apis/berth.dev/v1alpha1');
  t.ok(
    discovery
      .json<{ resources: { name: string; verbs: string[] }[] }>()
      .resources.some((r) => r.name === 'containers/binding' && r.verbs.join() === 'create'),
    'discovery lists containers/binding (create)',
  );
  await deleteAll();
});

t.test(
  'two Containers asking for one host port never land on one node; another address or a freed port fits',
  async (t) => {
    const port = (hostPort: number, hostIP?: string) => ({
      ports: [{ containerPort: 80, hostPort, ...(hostIP !== undefined ? { hostIP } : {}) }],
    });
    await container('port-1', port(8080));
    await container('port-2', port(8080));
    t.same([await boundTo('port-1'), await boundTo('port-2')].sort(), ['n1', 'n2'], 'one each');
    await container('port-3', port(8080));
    t.ok(await eventually(async () => scheduled(await get('port-3'))?.status === 'False', 20_000), 'a third waits');
    t.match(scheduled(await get('port-3'))?.message, /2 node\(s\) didn't have free ports for the requested pod ports/);
    await container('port-any', port(8080, '0.0.0.0'));
    t.ok(
      await eventually(async () => scheduled(await get('port-any'))?.status === 'False', 20_000),
      '0.0.0.0 takes every address of the node: it clashes with 127.0.0.1',
    );
    await container('port-other-ip', port(8080, '127.0.0.2'));
    t.ok((await boundTo('port-other-ip')) !== '', 'the same port on another address fits');
    await container('port-udp', { ports: [{ containerPort: 80, hostPort: 8080, protocol: 'UDP' }] });
    t.ok((await boundTo('port-udp')) !== '', 'and so does the same port over UDP');
    const freed = (await get('port-1')).spec.nodeName;
    await request(ts, 'DELETE', `${base}/port-1`);
    t.equal(await boundTo('port-3'), freed, 'a deleted Container frees its host port');
    t.equal((await get('port-any')).spec.nodeName, undefined, 'the 0.0.0.0 one still waits');
    await deleteAll();
  },
);

t.test('the scheduler writes as berth-scheduler: its bindings are its own in managedFields', async (t) => {
  await container('managed');
  await boundTo('managed');
  const c = (await request(ts, 'GET', `${base}/managed`)).json<{
    metadata: { managedFields?: { manager: string; fieldsV1?: { 'f:spec'?: Record<string, unknown> } }[] };
  }>();
  const managers = (c.metadata.managedFields ?? []).filter((f) => f.fieldsV1?.['f:spec']?.['f:nodeName'] !== undefined);
  t.same(
    managers.map((f) => f.manager),
    ['berth-scheduler'],
    'spec.nodeName is managed by berth-scheduler, not the controller manager',
  );
  await deleteAll();
});

t.test("a Service's replicas carry its template's tolerations, nodeSelector and resources", async (t) => {
  await request(ts, 'PATCH', '/api/v1/nodes/n2', {
    body: JSON.stringify({
      metadata: { labels: { disk: 'ssd' } },
      spec: { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] },
    }),
    contentType: 'application/merge-patch+json',
  });
  const spec = {
    image: 'busybox',
    nodeSelector: { disk: 'ssd' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }],
    resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } },
  };
  await post('/apis/berth.dev/v1alpha1/namespaces/default/services', {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Service',
    metadata: { name: 'db' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'db' } },
      template: { metadata: { labels: { app: 'db' } }, spec },
    },
  });
  interface Replica extends Container {
    spec: Container['spec'] & Record<string, unknown>;
  }
  let items: Replica[] = [];
  t.ok(
    await eventually(async () => {
      items = (await request(ts, 'GET', `${base}?labelSelector=app%3Ddb`)).json<{ items: Replica[] }>().items;
      return items.length === 2 && items.every((c) => (c.spec.nodeName ?? '') !== '');
    }, 20_000),
    'two replicas, both bound',
  );
  for (const c of items) {
    t.same(c.spec.nodeSelector, spec.nodeSelector, `${c.metadata.name}: nodeSelector`);
    t.same(c.spec.tolerations, spec.tolerations, `${c.metadata.name}: tolerations`);
    t.same(c.spec.resources, spec.resources, `${c.metadata.name}: resources`);
    t.equal(c.spec.nodeName, 'n2', `${c.metadata.name}: on the one ssd node, tainted as it tolerates`);
  }
  await request(ts, 'DELETE', '/apis/berth.dev/v1alpha1/namespaces/default/services/db');
  await request(ts, 'PATCH', '/api/v1/nodes/n2', {
    body: JSON.stringify({ spec: { taints: null } }),
    contentType: 'application/merge-patch+json',
  });
  await deleteAll();
});
