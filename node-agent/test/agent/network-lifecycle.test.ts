// A Network's life with real containers: one naming no subnet gets its block from the network controller's pool
// and its Container an address in it; the Network's status lists the Container; deleting the Network waits while
// the Container names it, and once the Container is gone the Network goes and so do its bridge and its leases on
// the node. Needs root.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type { Container, Network } from '@berth/api';
import { eventually } from '@berth/testkit';
import { setUpCluster } from './harness.js';

const run = promisify(execFile);
const third = randomBytes(1)[0] ?? 0;
const pool = `10.219.${third}.0/24`;
const cluster = await setUpCluster(t, {
  server: { controllerOptions: { network: { pools: [{ base: pool, size: 26 }] } } },
});
await cluster.startAgent();
const isRunning = (c: Container) => c.status?.phase === 'Running';
const group = 'berth.dev';
const version = 'v1alpha1';

async function getNetwork(name: string): Promise<Network | undefined> {
  try {
    return (await cluster.custom.getNamespacedCustomObject({
      group,
      version,
      namespace: 'default',
      plural: 'networks',
      name,
    })) as Network;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}
async function networkWhen(name: string, pred: (n: Network) => boolean): Promise<Network | undefined> {
  let last: Network | undefined;
  await eventually(async () => {
    last = await getNetwork(name);
    return last !== undefined && pred(last);
  }, 30_000);
  return last;
}
const bridgeExists = async (bridge: string) =>
  run('ip', ['link', 'show', bridge]).then(
    () => true,
    () => false,
  );
const leaseDirs = async () => readdir(path.join(cluster.root, 'ipam')).catch(() => [] as string[]);

t.test('a pool Network: allocated, attached, listed, and removed from the node with its last Container', async (t) => {
  await cluster.custom.createNamespacedCustomObject({
    group,
    version,
    namespace: 'default',
    plural: 'networks',
    body: { apiVersion: `${group}/${version}`, kind: 'Network', metadata: { name: 'pooled' }, spec: {} },
  });
  // Created at once with its Network: it waits for the subnet, then starts without its back-off running out.
  await cluster.create('member', {
    command: ['sleep', '3600'],
    networks: [{ name: 'pooled' }],
    terminationGracePeriodSeconds: 0,
  });
  const member = await cluster.waitFor('member', isRunning, 60_000);
  const net = await networkWhen('pooled', (n) => n.status?.memberCount === 1);
  const subnet = net?.status?.subnet ?? '';
  t.match(subnet, new RegExp(`^10\\.219\\.${third}\\.(0|64|128|192)/26$`), `a block of the pool: ${subnet}`);
  const ip = member.status?.ips?.[0]?.ip ?? '';
  const prefix = subnet.split('.').slice(0, 3).join('.');
  t.equal(member.status?.ips?.[0]?.network, 'pooled');
  t.ok(ip.startsWith(`${prefix}.`), `the Container's address ${ip} is in ${subnet}`);
  t.same(net?.status?.members, [{ name: 'member', ip, nodeName: cluster.nodeName }]);
  const bridge = net?.status?.bridgeName ?? '';
  t.ok(await bridgeExists(bridge), `bridge ${bridge} exists on the node`);
  t.ok((await leaseDirs()).includes('default_pooled'), 'host-local keeps its leases');
  const listed = await cluster.server.kubectl(['get', 'networks']);
  t.match(listed.stdout, new RegExp(`pooled\\s+bridge\\s+${subnet.replace(/[./]/g, '\\$&')}\\s+\\S+\\s+1\\s+Ready`));

  await cluster.custom.deleteNamespacedCustomObject({
    group,
    version,
    namespace: 'default',
    plural: 'networks',
    name: 'pooled',
  });
  const waiting = await networkWhen('pooled', (n) => n.status?.phase === 'Terminating');
  t.match(waiting?.status?.message, 'used by member', 'the deletion waits and names the Container');
  t.ok(isRunning((await cluster.get('member')) as Container), 'the Container keeps running');
  t.ok(await bridgeExists(bridge), 'and its bridge stays');

  await cluster.remove('member');
  t.ok(await cluster.waitGone('member', 30_000));
  t.ok(
    await eventually(async () => (await getNetwork('pooled')) === undefined, 30_000),
    'the Network goes with its last Container',
  );
  t.ok(await eventually(async () => !(await bridgeExists(bridge)), 30_000), 'its bridge is removed from the node');
  t.notOk((await leaseDirs()).includes('default_pooled'), 'and its leases');
});
