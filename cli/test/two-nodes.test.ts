// Two nodes on one machine: two `berth agent` processes (each its own data dir and runtime root) join one API
// server whose controllers run the scheduler and the node lifecycle controller (short periods). One group's
// replicas spread over both nodes; stopping one agent turns its Node NotReady and tainted, its controller-owned
// replicas are evicted (Terminating: its agent is gone) while a bare Container stays, and new Containers go to the
// live node; when the agent comes back its Node is Ready again and it stops what no longer belongs to it.
// First, hack/hosts.sh's two hosts in network namespaces on the same server (hosts-netns.ts).
// Needs root, crun and conmon (and iproute2, nsenter, iptables for the hosts).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { eventually, pushBusybox, request, startRegistry, startTestServer } from '@berth/testkit';
import { berthMain } from './berth-process.js';
import { hostsNetnsTest } from './hosts-netns.js';

const ts = await startTestServer({
  controllers: { nodeLifecycle: { nodeMonitorGracePeriodMs: 8_000, evictionTimeoutMs: 1_000 } },
});
t.teardown(() => ts.close());
const registry = await startRegistry(t);
await pushBusybox(t, registry.address);
const image = `${registry.address}/library/busybox:latest`;
const dir = await mkdtemp(join(tmpdir(), 'berth-two-nodes-'));
const suffix = randomBytes(3).toString('hex');
const names = { a: `node-a-${suffix}`, b: `node-b-${suffix}` };

interface Container {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}
const base = '/apis/berth.dev/v1alpha1/namespaces/default/containers';
const json = (body: unknown) => ({ body: JSON.stringify(body), contentType: 'application/json' });
const list = async () => (await request(ts, 'GET', base)).json<{ items: Container[] }>().items;
const get = async (name: string) => {
  const res = await request(ts, 'GET', `${base}/${name}`);
  return res.status === 200 ? res.json<Container>() : undefined;
};

const agents = new Map<string, ChildProcess>();
async function startAgent(node: string): Promise<void> {
  const child = spawn(
    process.execPath,
    [
      berthMain,
      'agent',
      '--kubeconfig',
      ts.kubeconfig,
      '--node-name',
      node,
      '--data-dir',
      join(dir, node),
      '--runtime-root',
      join(dir, node, 'run', 'crun'),
      '--lease-renew-interval',
      '1',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  agents.set(node, child);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('is up')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`berth agent ${node} exited with ${code}: ${out}`)));
  });
}
async function stopAgent(node: string): Promise<void> {
  const child = agents.get(node);
  if (child === undefined || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  agents.delete(node);
}

t.teardown(async () => {
  // Both agents up, so every Container's teardown runs (finalizers honoured, processes stopped, mounts gone).
  for (const node of [names.a, names.b]) if (!agents.has(node)) await startAgent(node).catch(() => undefined);
  await request(ts, 'DELETE', base);
  await eventually(async () => (await list()).length === 0, 30_000);
  for (const node of [...agents.keys()]) await stopAgent(node);
  await rm(dir, { recursive: true, force: true }).catch(() => undefined);
});

const nodeLine = async (node: string) =>
  (await ts.kubectl(['get', 'node', node, '--no-headers'])).stdout.trim().split(/\s+/)[1];

const owner = (
  await request(
    ts,
    'POST',
    '/api/v1/namespaces/default/configmaps',
    json({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web' } }),
  )
).json<{ metadata: { uid: string } }>();

async function container(name: string, owned: boolean): Promise<void> {
  const res = await request(
    ts,
    'POST',
    base,
    json({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Container',
      metadata: {
        name,
        labels: { app: owned ? 'web' : 'bare' },
        ...(owned
          ? {
              ownerReferences: [
                { apiVersion: 'v1', kind: 'ConfigMap', name: 'web', uid: owner.metadata.uid, controller: true },
              ],
            }
          : {}),
      },
      spec: { image, command: ['sleep', '3600'], networkMode: 'none', terminationGracePeriodSeconds: 0 },
    }),
  );
  if (res.status !== 201) throw new Error(`create ${name}: ${res.status} ${res.text}`);
}

const ready = async (name: string) => (await get(name))?.status?.conditions?.find((c) => c.type === 'Ready')?.status;
const running = async (name: string) => (await get(name))?.status?.phase === 'Running';

t.test(
  "hack/hosts.sh: two hosts in network namespaces reach each other's containers, and each one's published port the other's replica",
  (t) => hostsNetnsTest(t, ts, registry.address),
);

t.test('two agents join; one group of replicas spreads over both', async (t) => {
  await Promise.all([startAgent(names.a), startAgent(names.b)]);
  t.ok(
    await eventually(
      async () => (await nodeLine(names.a)) === 'Ready' && (await nodeLine(names.b)) === 'Ready',
      30_000,
    ),
    'both Nodes Ready',
  );
  for (const i of [1, 2, 3, 4]) await container(`web-${i}`, true);
  await container('bare', false);
  t.ok(
    await eventually(
      async () => (await Promise.all(['web-1', 'web-2', 'web-3', 'web-4', 'bare'].map(running))).every(Boolean),
      60_000,
    ),
    'all Running',
  );
  const placed = await Promise.all([1, 2, 3, 4].map(async (i) => (await get(`web-${i}`))?.spec.nodeName));
  t.equal(placed.filter((n) => n === names.a).length, 2, `two replicas on each node (${placed.join(', ')})`);
  t.equal(placed.filter((n) => n === names.b).length, 2);
});

t.test('stopping an agent: its Node goes NotReady, its replicas are evicted, new work goes elsewhere', async (t) => {
  // The bare Container goes where the fewest replicas of nothing are: find its node, and stop that agent.
  const bareNode = (await get('bare'))?.spec.nodeName ?? '';
  const lost = bareNode;
  const live = lost === names.a ? names.b : names.a;
  await stopAgent(lost);
  t.ok(await eventually(async () => (await nodeLine(lost)) === 'NotReady', 30_000), `${lost} NotReady`);
  const describe = await ts.kubectl(['describe', 'node', lost]);
  t.match(describe.stdout, /Taints:\s+node\.kubernetes\.io\/unreachable:NoExecute/);
  const replicasThere = (await list()).filter((c) => c.spec.nodeName === lost && c.metadata.name.startsWith('web-'));
  t.equal(replicasThere.length, 2);
  t.ok(
    await eventually(
      async () =>
        (await Promise.all(replicasThere.map((c) => get(c.metadata.name)))).every(
          (c) => c === undefined || c.metadata.deletionTimestamp !== undefined,
        ),
      30_000,
    ),
    "the lost node's replicas are evicted (Terminating until its agent returns)",
  );
  t.equal((await get('bare'))?.metadata.deletionTimestamp, undefined, 'the bare Container stays');
  t.ok(await eventually(async () => (await ready('bare')) === 'False'), 'but is not Ready');
  // Their replacements (a Service controller's job; made by hand here) go to the live node only.
  for (const i of [5, 6]) await container(`web-${i}`, true);
  t.ok(await eventually(async () => (await running('web-5')) && (await running('web-6')), 60_000), 'replacements run');
  t.equal((await get('web-5'))?.spec.nodeName, live);
  t.equal((await get('web-6'))?.spec.nodeName, live);

  await startAgent(lost);
  t.ok(await eventually(async () => (await nodeLine(lost)) === 'Ready', 30_000), `${lost} Ready again`);
  t.ok(
    await eventually(
      async () => (await ts.kubectl(['describe', 'node', lost])).stdout.match(/Taints:\s+<none>/) !== null,
      20_000,
    ),
    'taints removed',
  );
  t.ok(
    await eventually(
      async () => (await Promise.all(replicasThere.map((c) => get(c.metadata.name)))).every((c) => c === undefined),
      30_000,
    ),
    'the returning agent stops the evicted replicas, and they are gone',
  );
  t.ok(
    await eventually(async () => (await running('bare')) && (await ready('bare')) === 'True', 30_000),
    'the bare Container runs on its node again, Ready',
  );
});
