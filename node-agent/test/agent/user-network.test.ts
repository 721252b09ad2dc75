// A user's Network becomes a bridge of its own: two Containers naming it get addresses from its subnet and reach
// each other (nc from one to the other's httpd); a Network that does not exist, or that this node cannot run (its
// subnet overlaps another Network's), is a status reason and a Warning Event. Needs root.
import { randomBytes } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import t from 'tap';
import type { Container } from '@berth/api';
import { eventually } from '@berth/testkit';
import { deleteBridge } from '../network/host-state.js';
import { setUpCluster } from './harness.js';

const cluster = await setUpCluster(t);
const agent = await cluster.startAgent();
const core = cluster.kc.makeApiClient(CoreV1Api);
const isRunning = (c: Container) => c.status?.phase === 'Running';
const hex = randomBytes(3).toString('hex');
const bridgeName = `bu${hex}`;
const third = randomBytes(1)[0] ?? 0;
const subnet = `10.215.${third}.0/24`;
t.teardown(() => deleteBridge(bridgeName));

async function createNetwork(name: string, spec: Record<string, unknown>): Promise<void> {
  await cluster.custom.createNamespacedCustomObject({
    group: 'berth.dev',
    version: 'v1alpha1',
    namespace: 'default',
    plural: 'networks',
    body: { apiVersion: 'berth.dev/v1alpha1', kind: 'Network', metadata: { name }, spec },
  });
}

async function execOut(id: string, args: string[]): Promise<string> {
  const s = await agent.runtime.exec(id, { args });
  let out = '';
  s.stdout.on('data', (b: Buffer) => (out += b.toString()));
  await s.exitCode;
  await s.close();
  return out;
}

t.test('two Containers on a user Network reach each other', async (t) => {
  await createNetwork('backend', { subnet, bridgeName });
  await cluster.create('server', {
    command: ['sh', '-c', 'mkdir -p /www && echo pong > /www/index.html && exec httpd -f -p 80 -h /www'],
    networks: [{ name: 'backend', aliases: ['api'] }],
    terminationGracePeriodSeconds: 0,
  });
  await cluster.create('client', {
    command: ['sleep', '3600'],
    networks: [{ name: 'backend' }],
    terminationGracePeriodSeconds: 0,
  });
  const server = await cluster.waitFor('server', isRunning);
  const client = await cluster.waitFor('client', isRunning);
  const ip = server.status?.ips?.[0];
  t.equal(ip?.network, 'backend');
  t.match(ip?.ip, new RegExp(`^10\\.215\\.${third}\\.\\d+$`), `from ${subnet}`);
  t.match(client.status?.ips?.[0]?.ip, new RegExp(`^10\\.215\\.${third}\\.\\d+$`));
  let page = '';
  const got = await eventually(async () => {
    page = await execOut(client.metadata.uid ?? '', [
      'sh',
      '-c',
      `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc ${ip?.ip ?? '?'} 80`,
    ]);
    return page.includes('pong');
  });
  t.ok(got, `the client reached the server: ${JSON.stringify(page.slice(0, 60))}`);
  t.equal(
    (await execOut(client.metadata.uid ?? '', ['cat', '/etc/resolv.conf'])).split('\n')[0],
    `nameserver 10.215.${third}.1`,
    "the network's name server, never the host's",
  );
  let byName = '';
  const named = await eventually(async () => {
    byName = await execOut(client.metadata.uid ?? '', ['sh', '-c', `printf 'GET / HTTP/1.0\r\n\r\n' | nc server 80`]);
    return byName.includes('pong');
  });
  t.ok(named, `and by name: ${JSON.stringify(byName.slice(0, 60))}`);
  const alias = await execOut(client.metadata.uid ?? '', ['nslookup', 'api', `10.215.${third}.1`]);
  t.match(alias, ip?.ip ?? '?', `the alias resolves: ${alias}`);
  const unknown = await execOut(client.metadata.uid ?? '', ['nslookup', 'example.com', `10.215.${third}.1`]);
  t.match(unknown, /NXDOMAIN|can't find|can't resolve/i, `a name off the network is NXDOMAIN: ${unknown}`);
  await cluster.remove('server');
  await cluster.remove('client');
  t.ok(await cluster.waitGone('server'));
  t.ok(await cluster.waitGone('client'));
});

t.test('a missing Network and one whose subnet overlaps are reasons with Warning Events', async (t) => {
  await cluster.create('lost', {
    command: ['sleep', '3600'],
    networks: [{ name: 'nosuch' }],
    terminationGracePeriodSeconds: 0,
  });
  const lost = await cluster.waitFor('lost', (c) => c.status?.reason === 'CreateContainerConfigError');
  t.match(lost.status?.message, 'network "nosuch" not found');
  // (A gateway outside its subnet never gets this far: the CRD's CEL rules refuse it with a 422.)
  // Overlapping backend's subnet (the first test's Network): the network controller says SubnetOverlap.
  await createNetwork('overlapping', { subnet: `10.215.${third}.128/25` });
  await cluster.create('skewed-member', {
    command: ['sleep', '3600'],
    networks: [{ name: 'overlapping' }],
    terminationGracePeriodSeconds: 0,
  });
  const skewed = await cluster.waitFor(
    'skewed-member',
    (c) => c.status?.reason === 'InvalidNetwork' && /SubnetOverlap/.test(c.status.message ?? ''),
  );
  t.match(skewed.status?.message, 'is not ready: SubnetOverlap: Pool overlaps with other one on this address space');
  const warned = await eventually(async () => {
    const events = await core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: 'involvedObject.name=skewed-member',
    });
    return events.items.some((e) => e.type === 'Warning' && e.reason === 'FailedNetworkSetup');
  });
  t.ok(warned, 'a Warning Event');
  await cluster.remove('lost');
  await cluster.remove('skewed-member');
  t.ok(await cluster.waitGone('lost'));
  t.ok(await cluster.waitGone('skewed-member'));
});
