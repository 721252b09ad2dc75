// Deleting running Containers through the real API server, agent and garbage collector: `kubectl delete
// --grace-period=1` stops a container that ignores SIGTERM within that second, not its spec's 30; and a foreground
// delete of the owner of two running Containers waits until the agent has stopped and released both. Needs root.
import t from 'tap';
import { eventually } from '@berth/testkit';
import { setUpCluster } from './harness.js';

const cluster = await setUpCluster(t);
await cluster.startAgent();
const isRunning = (c: { status?: { phase?: string } }) => c.status?.phase === 'Running';

t.test('kubectl delete --grace-period=1 stops within a second, not the spec grace period', async (t) => {
  // sleep as pid 1 ignores SIGTERM: only SIGKILL, after the grace period, stops it.
  await cluster.create('stubborn', { command: ['sleep', '3600'], terminationGracePeriodSeconds: 30 });
  await cluster.waitFor('stubborn', isRunning, 60_000);
  const started = Date.now();
  const res = await cluster.server.kubectl(['delete', 'containers.berth.dev', 'stubborn', '--grace-period=1']);
  t.equal(res.code, 0, res.stderr);
  const took = Date.now() - started;
  t.equal(await cluster.get('stubborn'), undefined, 'gone when kubectl returns');
  t.ok(took >= 900 && took < 15_000, `stopped after the 1 s asked for (${took} ms)`);
});

t.test('a foreground delete of an owner waits for the agent to stop its Containers', async (t) => {
  const core = await cluster.server.kubectl(['create', 'configmap', 'owner', '-o', 'jsonpath={.metadata.uid}']);
  t.equal(core.code, 0, core.stderr);
  const ownerRef = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: core.stdout, blockOwnerDeletion: true };
  for (const name of ['replica-a', 'replica-b'])
    await cluster.custom.createNamespacedCustomObject({
      group: 'berth.dev',
      version: 'v1alpha1',
      namespace: 'default',
      plural: 'containers',
      body: {
        apiVersion: 'berth.dev/v1alpha1',
        kind: 'Container',
        metadata: { name, ownerReferences: [ownerRef] },
        spec: { image: cluster.image, command: ['sleep', '3600'], terminationGracePeriodSeconds: 1 },
      },
    });
  for (const name of ['replica-a', 'replica-b']) await cluster.waitFor(name, isRunning, 60_000);
  const res = await cluster.server.kubectl(['delete', 'configmap', 'owner', '--cascade=foreground', '--timeout=60s']);
  t.equal(res.code, 0, res.stderr);
  t.equal(await cluster.get('replica-a'), undefined, 'the replicas were gone before the owner');
  t.equal(await cluster.get('replica-b'), undefined);
  t.ok(
    await eventually(async () => (await cluster.server.kubectl(['get', 'configmap', 'owner'])).code !== 0),
    'and the owner is gone',
  );
});
