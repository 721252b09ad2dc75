// A Service's name resolves on its network's name server to the addresses of its Ready replicas (the Containers
// its selector selects), headless style, and follows them as they come and go; a member's address resolves back
// to its name: real containers, nslookup and nc inside one of them. Needs root.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import {
  isConditionTrue,
  labelSelectorFromMeta,
  matchesLabels,
  type Container,
  type ContainerList,
  type Service,
} from '@berth/api';
import { eventually } from '@berth/testkit';
import { setUpCluster } from './harness.js';

const cluster = await setUpCluster(t);
const agent = await cluster.startAgent();
const isRunning = (c: Container) => c.status?.phase === 'Running';
const third = randomBytes(1)[0] ?? 0;
const gateway = `10.223.${third}.1`;
const app = `web-${randomBytes(3).toString('hex')}`;
const group = 'berth.dev';
const version = 'v1alpha1';
const httpd = ['sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www'];

async function execOut(c: Container, args: string[]): Promise<string> {
  const s = await agent.runtime.exec(c.metadata.uid ?? '', { args });
  let out = '';
  s.stdout.on('data', (b: Buffer) => (out += b.toString()));
  await s.exitCode;
  await s.close();
  return out;
}

/** The addresses nslookup prints for `name` (the server's own line left out). */
async function resolve(from: Container, name: string): Promise<string[]> {
  const out = await execOut(from, ['nslookup', name, gateway]);
  const answers = out.split(/Name:/).slice(1).join('\n');
  return [...answers.matchAll(/Address:\s*(\d+\.\d+\.\d+\.\d+)/g)].map((m) => m[1] ?? '').sort();
}

/** What a Service's name should resolve to, from the API: its selected Containers that are Ready, on svcnet. */
async function readyReplicaIps(service: Service): Promise<string[]> {
  const list = (await cluster.custom.listNamespacedCustomObject({
    group,
    version,
    namespace: 'default',
    plural: 'containers',
  })) as ContainerList;
  const selector = labelSelectorFromMeta(service.spec.selector);
  return list.items
    .filter((c) => matchesLabels(selector, c.metadata.labels) && isConditionTrue(c.status?.conditions, 'Ready'))
    .filter((c) => c.metadata.deletionTimestamp === undefined)
    .flatMap((c) => (c.status?.ips ?? []).filter((a) => a.network === 'svcnet').map((a) => a.ip))
    .sort();
}

t.test("a Service's name is its Ready replicas' addresses", async (t) => {
  await cluster.custom.createNamespacedCustomObject({
    group,
    version,
    namespace: 'default',
    plural: 'networks',
    body: {
      apiVersion: `${group}/${version}`,
      kind: 'Network',
      metadata: { name: 'svcnet' },
      spec: { subnet: `10.223.${third}.0/26` },
    },
  });
  const replicaSpec = { command: httpd, networks: [{ name: 'svcnet' }], terminationGracePeriodSeconds: 0 };
  for (const name of ['replica-a', 'replica-b']) {
    await cluster.custom.createNamespacedCustomObject({
      group,
      version,
      namespace: 'default',
      plural: 'containers',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'Container',
        metadata: { name, labels: { app } },
        spec: { image: cluster.image, ...replicaSpec },
      },
    });
  }
  await cluster.create('other', replicaSpec);
  await cluster.create('client', {
    command: ['sleep', '3600'],
    networks: [{ name: 'svcnet' }],
    terminationGracePeriodSeconds: 0,
  });
  const service = (await cluster.custom.createNamespacedCustomObject({
    group,
    version,
    namespace: 'default',
    plural: 'services',
    body: {
      apiVersion: `${group}/${version}`,
      kind: 'Service',
      metadata: { name: 'websvc' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app } },
        template: { metadata: { labels: { app } }, spec: { image: cluster.image, ...replicaSpec } },
      },
    },
  })) as Service;
  const client = await cluster.waitFor('client', isRunning, 60_000);
  const other = await cluster.waitFor('other', isRunning, 60_000);
  await cluster.waitFor('replica-a', isRunning, 60_000);
  await cluster.waitFor('replica-b', isRunning, 60_000);

  // Whoever runs the replicas (these two, or a Service controller's), the name follows the Ready ones.
  let got: string[] = [];
  let want: string[] = [];
  const matched = await eventually(async () => {
    want = await readyReplicaIps(service);
    got = await resolve(client, 'websvc');
    return want.length >= 2 && JSON.stringify(got) === JSON.stringify(want);
  }, 60_000);
  t.ok(matched, `websvc resolves to ${JSON.stringify(got)}, the Ready replicas' ${JSON.stringify(want)}`);
  t.notOk(got.includes(other.status?.ips?.[0]?.ip ?? '?'), 'not to a Container the selector leaves out');
  t.same(await resolve(client, 'websvc.default'), got, 'as websvc.default too');
  const otherIp = other.status?.ips?.[0]?.ip ?? '?';
  const ptr = await execOut(client, ['nslookup', otherIp, gateway]);
  t.match(ptr, 'other.default', `a member's address resolves back to its name (PTR): ${ptr}`);
  let page = '';
  const reached = await eventually(async () => {
    page = await execOut(client, ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 websvc 80`]);
    return page.includes('200 OK');
  }, 30_000);
  t.ok(reached, `nc websvc 80 reaches a replica: ${JSON.stringify(page.slice(0, 40))}`);

  const gone = (await cluster.get('replica-a'))?.status?.ips?.[0]?.ip ?? '?';
  await cluster.remove('replica-a');
  const followed = await eventually(async () => {
    want = await readyReplicaIps(service);
    got = await resolve(client, 'websvc');
    return !got.includes(gone) && JSON.stringify(got) === JSON.stringify(want);
  }, 60_000);
  t.ok(followed, `a deleted replica's address ${gone} leaves the answer: ${JSON.stringify(got)}`);
});
