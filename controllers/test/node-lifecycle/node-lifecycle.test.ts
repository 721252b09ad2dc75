// The node lifecycle controller against a real API server, with Nodes and their Leases written through the API as
// agents write them (short periods): a Node whose Lease stops being renewed turns Ready=Unknown (kubectl: NotReady)
// and gets the unreachable taints; its Containers turn not Ready; after the eviction timeout those a controller
// owns are deleted, while a bare one and one that tolerates the taint stay; when the Lease moves again and the
// agent posts Ready, the taints go. A user's NoExecute taint evicts what does not tolerate it (at once, or after its
// tolerationSeconds); a deleted Node's Containers are deleted, its agent's finalizer with them.
import t from 'tap';
import { eventually, request, startTestServer } from '@berth/testkit';

const ts = await startTestServer({
  // A grace period of many heartbeats, so a loaded machine that delays a few does not make the live node look lost.
  controllers: {
    nodeLifecycle: { nodeMonitorGracePeriodMs: 5_000, evictionTimeoutMs: 1_500, orphanQuarantineMs: 1_000 },
  },
});
t.teardown(() => ts.close());

const json = (body: unknown) => ({ body: JSON.stringify(body), contentType: 'application/json' });
const merge = (body: unknown) => ({ body: JSON.stringify(body), contentType: 'application/merge-patch+json' });
const containers = '/apis/berth.dev/v1alpha1/namespaces/default/containers';
const leases = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases';

async function post(path: string, body: unknown): Promise<{ metadata: { uid: string } }> {
  const res = await request(ts, 'POST', path, json(body));
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${res.text}`);
  return res.json();
}

interface Node {
  spec?: { taints?: { key: string; effect: string }[] };
  status?: { conditions?: { type: string; status: string; reason?: string }[] };
}
const getNode = async (name: string) => (await request(ts, 'GET', `/api/v1/nodes/${name}`)).json<Node>();
const readyOf = (n: Node) => n.status?.conditions?.find((c) => c.type === 'Ready')?.status;

async function addNode(name: string): Promise<void> {
  await post('/api/v1/nodes', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name },
    spec: {},
    status: { conditions: [{ type: 'Ready', status: 'True', reason: 'AgentReady' }] },
  });
  await post(leases, {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name },
    spec: { holderIdentity: name, leaseDurationSeconds: 2, renewTime: new Date().toISOString() },
  });
}

/** What an agent's heartbeat does: move the Lease's renewTime. */
const renew = (name: string) =>
  request(ts, 'PATCH', `${leases}/${name}`, merge({ spec: { renewTime: new Date().toISOString() } }));

await addNode('alive');
await addNode('lost');
// Only `alive` keeps beating (every 300 ms, as an agent every 10 s against a 40 s grace period).
const beat = setInterval(() => void renew('alive').catch(() => undefined), 300);
t.teardown(() => clearInterval(beat));

// A controller-owned replica (its owner a ConfigMap: any controller will do), a bare one, one tolerating the taint.
const owner = await post('/api/v1/namespaces/default/configmaps', {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'owner' },
});
const ownerRef = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid, controller: true };
async function container(name: string, node: string, extra: Record<string, unknown> = {}, owned = true) {
  await post(containers, {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: { name, ...(owned ? { ownerReferences: [ownerRef] } : {}) },
    spec: { image: 'busybox', nodeName: node, ...extra },
  });
}
await container('replica-lost', 'lost');
await container('replica-alive', 'alive');
await container('bare-lost', 'lost', {}, false);
await container('patient-lost', 'lost', {
  tolerations: [
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 3600 },
  ],
});

const exists = async (name: string) => (await request(ts, 'GET', `${containers}/${name}`)).status === 200;
const containerReady = async (name: string) =>
  (await request(ts, 'GET', `${containers}/${name}`))
    .json<{ status?: { conditions?: { type: string; status: string; reason?: string }[] } }>()
    .status?.conditions?.find((c) => c.type === 'Ready');

t.test('a silent node turns NotReady and tainted; its owned replicas are evicted, bare ones stay', async (t) => {
  t.ok(await eventually(async () => readyOf(await getNode('lost')) === 'Unknown', 30_000), 'Ready=Unknown');
  const lost = await getNode('lost');
  t.equal(lost.status?.conditions?.find((c) => c.type === 'Ready')?.reason, 'NodeStatusUnknown');
  t.ok(
    await eventually(async () => {
      const keys = ((await getNode('lost')).spec?.taints ?? []).map((x) => `${x.key}:${x.effect}`).sort();
      return keys.join() === 'node.kubernetes.io/unreachable:NoExecute,node.kubernetes.io/unreachable:NoSchedule';
    }),
    'unreachable taints, NoSchedule and NoExecute',
  );
  const get = await ts.kubectl(['get', 'nodes']);
  t.match(get.stdout, /lost\s+NotReady/);
  t.match(get.stdout, /alive\s+Ready/);
  t.ok(await eventually(async () => (await containerReady('bare-lost'))?.status === 'False'), 'marked not Ready');
  t.equal((await containerReady('bare-lost'))?.reason, 'NodeNotReady');
  t.ok(await eventually(async () => !(await exists('replica-lost')), 30_000), 'the owned replica is evicted');
  t.ok(await exists('bare-lost'), 'a Container without a controller stays bound to its node');
  t.ok(await exists('patient-lost'), 'one that tolerates the taint for an hour stays');
  t.ok(await exists('replica-alive'), 'nothing on the live node is touched');
  t.equal(readyOf(await getNode('alive')), 'True');
  t.same((await getNode('alive')).spec?.taints ?? [], []);
  const eventSays = (name: string, pattern: RegExp) =>
    eventually(async () => {
      const events = await ts.kubectl(['get', 'events', '--field-selector', `involvedObject.name=${name}`]);
      return pattern.test(events.stdout);
    });
  t.ok(
    await eventSays('replica-lost', /TaintManagerEviction\s+.*Marking for deletion Container default\/replica-lost/),
    'an Event says why the replica went',
  );
  t.ok(await eventSays('lost', /NodeNotReady\s+.*Node lost status is now: NodeNotReady/), 'an Event on the Node');
});

t.test('the node comes back: its agent renews and posts Ready, the taints go', async (t) => {
  await renew('lost');
  await request(
    ts,
    'PATCH',
    '/api/v1/nodes/lost/status',
    merge({ status: { conditions: [{ type: 'Ready', status: 'True', reason: 'AgentReady' }] } }),
  );
  const back = setInterval(() => void renew('lost').catch(() => undefined), 300);
  t.teardown(() => clearInterval(back));
  t.ok(
    await eventually(async () => ((await getNode('lost')).spec?.taints ?? []).length === 0, 10_000),
    'taints removed',
  );
  t.equal(readyOf(await getNode('lost')), 'True');
  t.ok(await exists('bare-lost'), 'the bare Container is still there for the agent to run again');
});

const eventOn = (name: string, pattern: RegExp) =>
  eventually(async () => {
    const events = await ts.kubectl(['get', 'events', '--field-selector', `involvedObject.name=${name}`]);
    return pattern.test(events.stdout);
  });

t.test("a user's NoExecute taint evicts what does not tolerate it, at once or after tolerationSeconds", async (t) => {
  await container('taint-bare', 'alive', {}, false);
  await container('taint-forever', 'alive', {
    tolerations: [{ key: 'maintenance', operator: 'Exists', effect: 'NoExecute' }],
  });
  await container('taint-brief', 'alive', {
    tolerations: [{ key: 'maintenance', operator: 'Equal', value: 'now', effect: 'NoExecute', tolerationSeconds: 2 }],
  });
  const taint = (effect: string) => ({ key: 'maintenance', value: 'now', effect });
  const res = await request(ts, 'PATCH', '/api/v1/nodes/alive', merge({ spec: { taints: [taint('NoExecute')] } }));
  t.equal(res.status, 200, 'tainted');
  const taintedAt = Date.now();
  t.ok(await eventually(async () => !(await exists('taint-bare')), 10_000), 'a bare Container goes at once');
  t.ok(!(await exists('replica-alive')), 'an owned one too');
  t.ok(await exists('taint-brief'), 'one tolerating it for 2 s is still there');
  t.ok(await eventually(async () => !(await exists('taint-brief')), 10_000), '…and goes after its tolerationSeconds');
  // timeAdded has a second's precision (RFC 3339, as Kubernetes'): up to a second early.
  t.ok(Date.now() - taintedAt >= 1_000, `not before (${Date.now() - taintedAt} ms after the taint)`);
  t.ok(await exists('taint-forever'), 'one tolerating it without a time stays');
  const stamped = (await getNode('alive')).spec?.taints?.[0] as { timeAdded?: string } | undefined;
  t.ok(stamped?.timeAdded !== undefined, 'the taint got a timeAdded, the start of every tolerationSeconds');
  t.equal(readyOf(await getNode('alive')), 'True', 'the node stays Ready');
  t.ok(
    await eventOn(
      'taint-bare',
      /TaintManagerEviction\s+.*node alive has the taint \{maintenance: now\} it does not tolerate/,
    ),
    'an Event says which taint',
  );
  // NoSchedule evicts nothing. To know the controller has looked, a NoExecute taint only a marker does not
  // tolerate sits beside it: once the marker is gone, what the NoSchedule taint would have done is done. (The
  // Container tolerates the NoExecute maintenance taint too, which the cache may still show as it arrives; its
  // tolerations say nothing of a NoSchedule one.)
  await container(
    'taint-schedule-only',
    'alive',
    {
      tolerations: [
        { key: 'probe', operator: 'Exists', effect: 'NoExecute' },
        { key: 'maintenance', operator: 'Exists', effect: 'NoExecute' },
      ],
    },
    false,
  );
  await container('taint-marker', 'alive', {}, false);
  await request(
    ts,
    'PATCH',
    '/api/v1/nodes/alive',
    merge({ spec: { taints: [taint('NoSchedule'), { key: 'probe', effect: 'NoExecute' }] } }),
  );
  t.ok(await eventually(async () => !(await exists('taint-marker')), 10_000), 'the marker is evicted');
  t.ok(await exists('taint-schedule-only'), 'a NoSchedule taint leaves what runs');
  await request(ts, 'PATCH', '/api/v1/nodes/alive', merge({ spec: { taints: null } }));
});

t.test("a deleted Node's Containers are deleted with it, its agent's finalizer too", async (t) => {
  await addNode('gone');
  await post(containers, {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: { name: 'gone-running', finalizers: ['berth.dev/node-agent', 'example.com/keep'] },
    spec: { image: 'busybox', nodeName: 'gone' },
  });
  await container('gone-replica', 'gone');
  await container('stays', 'alive', {}, false);
  const del = await ts.kubectl(['delete', 'node', 'gone']);
  t.equal(del.code, 0, del.stderr);
  t.ok(await eventually(async () => !(await exists('gone-replica')), 10_000), 'the replica is deleted');
  t.ok(
    await eventually(async () => {
      const c = (await request(ts, 'GET', `${containers}/gone-running`)).json<{
        metadata: { deletionTimestamp?: string; finalizers?: string[] };
      }>();
      return c.metadata.deletionTimestamp !== undefined && c.metadata.finalizers?.join() === 'example.com/keep';
    }, 10_000),
    "deleting, the agent's finalizer removed, another's kept",
  );
  t.ok(await eventOn('gone-replica', /NodeDeleted\s+.*node gone no longer exists/), 'an Event says why');
  t.ok(await exists('stays'), 'Containers of other nodes stay');
  await request(ts, 'PATCH', `${containers}/gone-running`, merge({ metadata: { finalizers: null } }));
  t.ok(await eventually(async () => !(await exists('gone-running'))), 'gone once its last finalizer is');
});
