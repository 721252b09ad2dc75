// The network controller against a real API server: a Network's status says its subnet, gateway, bridge and
// Containers (kubectl get networks shows them); a Network naming no subnet gets one from the pool, two never the
// same one; a subnet overlapping another's is Ready=False SubnetOverlap with a Warning Event, and becomes Ready when
// the other goes; an exhausted pool says so; deleting a Network waits for the Containers that name it.
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import t from 'tap';
import type { Container, Network } from '@berth/api';
import { eventually, startTestServer } from '@berth/testkit';
import { networkFinalizer, startControllers } from '../../src/index.js';

const ts = await startTestServer({ controllers: false });
t.teardown(() => ts.close());
const controllers = await startControllers({
  kubeconfig: ts.kubeconfig,
  leaderElection: false,
  network: { pools: [{ base: '10.216.0.0/24', size: 26 }], reservedSubnets: ['10.212.0.0/16'] },
});
t.teardown(() => controllers.close());
const kc = ts.kubeConfig();
const custom = kc.makeApiClient(CustomObjectsApi);
const core = kc.makeApiClient(CoreV1Api);
const group = 'berth.dev';
const version = 'v1alpha1';
const namespace = 'default';

const createNetwork = (name: string, spec: Record<string, unknown> = {}) =>
  custom.createNamespacedCustomObject({
    group,
    version,
    namespace,
    plural: 'networks',
    body: { apiVersion: `${group}/${version}`, kind: 'Network', metadata: { name }, spec },
  });
const getNetwork = async (name: string): Promise<Network | undefined> => {
  try {
    return (await custom.getNamespacedCustomObject({ group, version, namespace, plural: 'networks', name })) as Network;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
};
const deleteNetwork = (name: string) =>
  custom.deleteNamespacedCustomObject({ group, version, namespace, plural: 'networks', name });
/** The Network once `pred` holds (or the last copy seen). */
async function networkWhen(name: string, pred: (n: Network) => boolean): Promise<Network | undefined> {
  let last: Network | undefined;
  await eventually(async () => {
    last = await getNetwork(name);
    return last !== undefined && pred(last);
  }, 30_000);
  return last;
}
const ready = (n: Network) => n.status?.conditions?.find((c) => c.type === 'Ready');
/** Whether an Event of `type` and `reason` about `name` appears (the recorder sends them in the background). */
const hasEvent = (name: string, type: string, reason: string) =>
  eventually(
    async () =>
      (await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` })).items.some(
        (e) => e.reason === reason && e.type === type,
      ),
    30_000,
  );

t.test('a Network with a subnet: status, finalizer and kubectl columns', async (t) => {
  await createNetwork('front', { subnet: '10.217.1.0/24' });
  const net = await networkWhen('front', (n) => n.status?.phase === 'Ready');
  t.equal(net?.status?.subnet, '10.217.1.0/24');
  t.equal(net?.status?.gateway, '10.217.1.1', "the subnet's first address");
  t.match(net?.status?.bridgeName, /^bn[0-9a-f]{10}$/, 'a bridge name derived from namespace/name');
  t.equal(net?.status?.memberCount, 0);
  t.same(net?.metadata.finalizers, [networkFinalizer]);
  t.match(ready(net ?? ({} as Network)), { status: 'True', reason: 'SubnetAssigned' });
  const get = await ts.kubectl(['get', 'networks']);
  t.equal(get.code, 0, get.stderr);
  t.match(get.stdout, /NAME\s+DRIVER\s+SUBNET\s+GATEWAY\s+CONTAINERS\s+STATUS\s+AGE/);
  t.match(get.stdout, /front\s+bridge\s+10\.217\.1\.0\/24\s+10\.217\.1\.1\s+0\s+Ready/);
  const wide = await ts.kubectl(['get', 'network', 'front', '-o', 'wide']);
  t.match(wide.stdout, new RegExp(`${net?.status?.bridgeName ?? '?'}\\s+SubnetAssigned`));
});

t.test('Networks naming no subnet get distinct ones from the pool', async (t) => {
  await Promise.all(['pool-a', 'pool-b', 'pool-c'].map((n) => createNetwork(n)));
  const subnets: string[] = [];
  for (const name of ['pool-a', 'pool-b', 'pool-c']) {
    const net = await networkWhen(name, (n) => n.status?.phase === 'Ready');
    t.match(ready(net ?? ({} as Network)), { status: 'True', reason: 'SubnetAllocated' }, name);
    subnets.push(net?.status?.subnet ?? '');
  }
  t.same(
    [...subnets].sort(),
    ['10.216.0.0/26', '10.216.0.128/26', '10.216.0.64/26'],
    `three different blocks: ${subnets.join(' ')}`,
  );
  t.ok(await hasEvent('pool-a', 'Normal', 'SubnetAllocated'), 'a SubnetAllocated Event');

  await createNetwork('pool-d');
  await createNetwork('pool-e');
  const d = await networkWhen('pool-d', (n) => n.status?.phase === 'Ready');
  t.equal(d?.status?.subnet, '10.216.0.192/26', 'the last block');
  const e = await networkWhen('pool-e', (n) => ready(n)?.reason === 'PoolExhausted');
  t.equal(e?.status?.phase, 'Pending');
  t.match(e?.status?.message, 'no free subnet left in the pools 10.216.0.0/24');
  t.ok(await hasEvent('pool-e', 'Warning', 'PoolExhausted'), 'a Warning Event');
  await deleteNetwork('pool-b');
  const freed = await networkWhen('pool-e', (n) => n.status?.phase === 'Ready');
  t.equal(freed?.status?.subnet, subnets[1], "the deleted Network's block goes to the one waiting");
  for (const n of ['pool-a', 'pool-c', 'pool-d', 'pool-e']) await deleteNetwork(n);
});

t.test('an overlapping subnet is Ready=False until the other Network goes', async (t) => {
  await createNetwork('wide', { subnet: '10.218.0.0/16' });
  await networkWhen('wide', (n) => n.status?.phase === 'Ready');
  await createNetwork('narrow', { subnet: '10.218.5.0/24' });
  const narrow = await networkWhen('narrow', (n) => ready(n)?.reason === 'SubnetOverlap');
  t.equal(narrow?.status?.phase, 'Failed');
  t.equal(ready(narrow ?? ({} as Network))?.status, 'False');
  t.equal(
    narrow?.status?.message,
    'Pool overlaps with other one on this address space: 10.218.5.0/24 overlaps Network default/wide (10.218.0.0/16)',
  );
  t.notOk(narrow?.status?.subnet, 'no subnet in use');
  t.ok(await hasEvent('narrow', 'Warning', 'SubnetOverlap'), 'a Warning Event');
  const describe = await ts.kubectl(['describe', 'network', 'narrow']);
  t.match(describe.stdout, /SubnetOverlap/);
  t.equal((await getNetwork('wide'))?.status?.phase, 'Ready', 'the older Network keeps its subnet');

  await createNetwork('on-default', { subnet: '10.212.7.0/24' });
  const onDefault = await networkWhen('on-default', (n) => ready(n)?.reason === 'SubnetOverlap');
  t.match(onDefault?.status?.message, "overlaps the nodes' default network (10.212.0.0/16)");

  await deleteNetwork('wide');
  const settled = await networkWhen('narrow', (n) => n.status?.phase === 'Ready');
  t.equal(settled?.status?.subnet, '10.218.5.0/24', 'ready once the overlap is gone');
  await deleteNetwork('narrow');
  await deleteNetwork('on-default');
});

t.test('members, and a deletion that waits for the Containers naming the Network', async (t) => {
  await createNetwork('shared', { subnet: '10.217.2.0/24' });
  await networkWhen('shared', (n) => n.status?.phase === 'Ready');
  for (const name of ['web', 'db']) {
    await custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'containers',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'Container',
        metadata: { name },
        spec: { image: 'busybox', networks: [{ name: 'shared' }] },
      },
    });
  }
  // What a node agent writes once web runs: its address on the network. The scheduler may write web's status
  // first (there is no node): re-read and write again on a conflict, as the agent does.
  for (let tries = 0; ; tries++) {
    const web = (await custom.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'containers',
      name: 'web',
    })) as Container;
    try {
      await custom.replaceNamespacedCustomObjectStatus({
        group,
        version,
        namespace,
        plural: 'containers',
        name: 'web',
        body: {
          ...web,
          spec: { ...web.spec, nodeName: '' },
          status: { phase: 'Running', ips: [{ ip: '10.217.2.5', network: 'shared' }] },
        },
      });
      break;
    } catch (err) {
      if ((err as { code?: number }).code !== 409 || tries >= 5) throw err;
    }
  }
  const withMember = await networkWhen('shared', (n) => n.status?.memberCount === 1);
  t.same(withMember?.status?.members, [{ name: 'web', ip: '10.217.2.5' }]);
  t.same(withMember?.status?.usedBy, ['db', 'web']);
  t.match(
    (await ts.kubectl(['get', 'network', 'shared'])).stdout,
    /shared\s+bridge\s+10\.217\.2\.0\/24\s+10\.217\.2\.1\s+1\s+Ready/,
  );

  await deleteNetwork('shared');
  const waiting = await networkWhen('shared', (n) => n.status?.phase === 'Terminating');
  t.ok(waiting?.metadata.deletionTimestamp, 'marked for deletion');
  t.equal(waiting?.status?.message, 'deletion waits until no Container uses the network (used by db, web)');
  t.ok(await hasEvent('shared', 'Normal', 'WaitingForContainers'), 'an Event names them');
  await custom.deleteNamespacedCustomObject({ group, version, namespace, plural: 'containers', name: 'web' });
  const one = await networkWhen('shared', (n) => (n.status?.usedBy ?? []).length === 1);
  t.match(one?.status?.message, 'used by db)');
  t.ok(await getNetwork('shared'), 'still there while db names it');
  await custom.deleteNamespacedCustomObject({ group, version, namespace, plural: 'containers', name: 'db' });
  t.ok(await eventually(async () => (await getNetwork('shared')) === undefined), 'gone once no Container names it');
});

t.test("a Network's addressing cannot change: 422, as Docker's networks cannot be edited", async (t) => {
  await createNetwork('fixed', { subnet: '10.217.3.0/24' });
  await networkWhen('fixed', (n) => n.status?.phase === 'Ready');
  const edit = await ts.kubectl([
    'patch',
    'network',
    'fixed',
    '--type',
    'merge',
    '-p',
    '{"spec":{"subnet":"10.217.4.0/24"}}',
  ]);
  t.not(edit.code, 0);
  t.match(edit.stderr, /is invalid: .*subnet, gateway, ipRange, bridgeName, internal and mtu cannot change/);
  const upstreams = await ts.kubectl([
    'patch',
    'network',
    'fixed',
    '--type',
    'merge',
    '-p',
    '{"spec":{"dnsUpstreams":["127.0.0.1:5353"]}}',
  ]);
  t.equal(upstreams.code, 0, `name server options may change: ${upstreams.stderr}`);
  t.equal((await getNetwork('fixed'))?.spec?.subnet, '10.217.3.0/24');
  await deleteNetwork('fixed');
});
