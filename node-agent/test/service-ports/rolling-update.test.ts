// A user's rolling update through the routing mesh: a Service of busybox httpd replicas with a readiness probe and
// a published port on 127.0.0.1, its template changed (an env var the page shows) while a client loop GETs the
// port on fresh connections all along. The Service controller surges a new replica, waits for it to be Ready,
// deletes an old one; the agent adds a replica to the port when Ready and drains it before stopping it. Zero
// failed requests, and at the end only the new template answers. Needs root (iptables, crun).
import { execFile } from 'node:child_process';
import { get as httpGet } from 'node:http';
import { promisify } from 'node:util';
import t from 'tap';
import type { Container, Service } from '@berth/api';
import { eventually, freePort, request } from '@berth/testkit';
import { setUpCluster } from '../agent/harness.js';

const cluster = await setUpCluster(t, { agent: true });
const port = await freePort();
const group = 'berth.dev';
const version = 'v1alpha1';
const replicas = 2;

/** A GET on a fresh connection (the kernel balances connections); `refused: …` when it fails. */
function get(): Promise<string> {
  return new Promise((resolve) => {
    const req = httpGet(`http://127.0.0.1:${port}/`, { agent: false, timeout: 3_000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(res.statusCode === 200 ? body.trim() : `refused: HTTP ${res.statusCode}`));
      res.on('error', (err) => resolve(`refused: ${err.message}`));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve(`refused: ${err.message}`));
  });
}

const template = (release: string) => ({
  metadata: { labels: { app: 'roll' } },
  spec: {
    image: cluster.image,
    env: [{ name: 'RELEASE', value: release }],
    command: [
      'sh',
      '-c',
      'mkdir -p /www && echo "$RELEASE $HOSTNAME" > /www/index.html && exec httpd -f -p 8080 -h /www',
    ],
    ports: [{ name: 'http', containerPort: 8080 }],
    // Ready only once httpd answers: the mesh adds a replica when it is Ready, the rollout counts only Ready ones.
    readinessProbe: { httpGet: { port: 'http', path: '/' }, periodSeconds: 1, failureThreshold: 1 },
    terminationGracePeriodSeconds: 1,
  },
});

async function service(): Promise<Service> {
  return (await cluster.custom.getNamespacedCustomObject({
    group,
    version,
    namespace: 'default',
    plural: 'services',
    name: 'roll',
  })) as Service;
}

async function replicasOf(): Promise<Container[]> {
  const list = (await cluster.custom.listNamespacedCustomObject({
    group,
    version,
    namespace: 'default',
    plural: 'containers',
    labelSelector: 'app=roll',
  })) as { items: Container[] };
  return list.items;
}

/** Every replica on the Service's current template, Ready, and no other replica left. */
async function settled(): Promise<boolean> {
  const s = await service();
  const st = s.status;
  if (st?.observedGeneration !== s.metadata.generation) return false;
  if (st?.updatedReplicas !== replicas || st?.readyReplicas !== replicas || st?.replicas !== replicas) return false;
  return (await replicasOf()).length === replicas;
}

await cluster.custom.createNamespacedCustomObject({
  group,
  version,
  namespace: 'default',
  plural: 'services',
  body: {
    apiVersion: `${group}/${version}`,
    kind: 'Service',
    metadata: { name: 'roll' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'roll' } },
      template: template('v1'),
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      ports: [{ port, targetPort: 'http', hostIP: '127.0.0.1' }],
    },
  },
});

t.test('a template change rolls over with zero failed requests under a continuous client loop', async (t) => {
  t.ok(await eventually(settled, 40_000), 'v1: all replicas Ready');
  t.ok(await eventually(async () => (await get()).startsWith('v1 '), 10_000), 'the port answers v1');
  const before = new Set((await replicasOf()).map((c) => c.metadata.name));

  let stop = false;
  const answers: string[] = [];
  const loop = (async () => {
    while (!stop) answers.push(await get());
  })();
  const startedAt = Date.now();
  const patched = await request(cluster.server, 'PATCH', `/apis/${group}/${version}/namespaces/default/services/roll`, {
    body: JSON.stringify({ spec: { template: template('v2') } }),
    contentType: 'application/merge-patch+json',
  });
  t.equal(patched.status, 200, 'template patched');
  const rolled = await eventually(async () => {
    if (!(await settled())) return false;
    const now = await replicasOf();
    return now.every((c) => !before.has(c.metadata.name));
  }, 60_000);
  // A few more requests once the last old replica is gone: the drain's end is in the loop too.
  const lastAt = answers.length;
  await eventually(async () => answers.length > lastAt + 20, 10_000);
  stop = true;
  await loop;
  t.ok(rolled, 'every replica replaced, all Ready');
  const failed = answers.filter((a) => a.startsWith('refused'));
  const releases = answers.map((a) => a.split(' ')[0]);
  t.comment(
    `${answers.length} GETs over ${Date.now() - startedAt} ms of rollout: ${releases.filter((r) => r === 'v1').length} v1, ${releases.filter((r) => r === 'v2').length} v2, ${failed.length} failed`,
  );
  t.same(failed, [], 'no request failed');
  t.ok(answers.length > 50, 'the loop ran all along');
  t.equal(releases.at(-1), 'v2', 'the last answers are v2');
  // Once v2 answers only v2 may follow the last v1: both serve side by side while the rollout runs, then v1 goes.
  const tail = releases.slice(releases.lastIndexOf('v1') + 1);
  t.ok(tail.length > 20 && tail.every((r) => r === 'v2'), `${tail.length} answers after the last v1, all v2`);
});

t.test('deleting the Service takes its port off the host: no NAT rule of it is left', async (t) => {
  const deleted = await request(cluster.server, 'DELETE', `/apis/${group}/${version}/namespaces/default/services/roll`);
  t.equal(deleted.status, 200, 'Service deleted');
  const natRules = async () => (await promisify(execFile)('iptables', ['-t', 'nat', '-S'])).stdout;
  t.ok(
    await eventually(async () => !(await natRules()).includes(`default/roll:${port}/`), 30_000),
    'the port is gone from the nat table (its replicas went with the Service)',
  );
  t.match(await get(), /^refused/, 'the port answers no more');
});
