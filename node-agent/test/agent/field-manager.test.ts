// What the agent writes is recorded under its own name: managedFields of its Container, Event, Node and Lease
// writes say manager berth-node-agent (before, client-node's default made them `node-fetch`). Needs root.
import { CoordinationV1Api, CoreV1Api } from '@kubernetes/client-node';
import t from 'tap';
import type { Container } from '@berth/api';
import { setUpCluster } from './harness.js';

const cluster = await setUpCluster(t, { agent: true });
const group = 'berth.dev';
const version = 'v1alpha1';

interface ManagedFieldsEntry {
  readonly manager?: string;
  readonly operation?: string;
  readonly subresource?: string;
  readonly fieldsV1?: Record<string, unknown>;
}
const managedFields = (obj: { metadata?: { managedFields?: unknown } }): ManagedFieldsEntry[] =>
  (obj.metadata?.managedFields ?? []) as ManagedFieldsEntry[];

t.test(
  "a Container's finalizer, binding and status are managed by berth-node-agent, the creator's fields by the creator",
  async (t) => {
    await cluster.custom.createNamespacedCustomObject({
      group,
      version,
      namespace: 'default',
      plural: 'containers',
      fieldManager: 'e2e-creator',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'Container',
        metadata: { name: 'managed' },
        spec: { image: cluster.image, command: ['sleep', '3600'], terminationGracePeriodSeconds: 0 },
      },
    });
    const c = await cluster.waitFor('managed', (x) => x.status?.phase === 'Running');
    const entries = managedFields(c);
    t.same(
      [...new Set(entries.map((e) => e.manager))].sort(),
      ['berth-node-agent', 'e2e-creator'],
      'two managers, no node-fetch',
    );
    const status = entries.find((e) => e.subresource === 'status');
    t.equal(status?.manager, 'berth-node-agent', 'status is written by the agent');
    t.ok(JSON.stringify(status?.fieldsV1 ?? {}).includes('f:phase'), 'including phase');
    const main = entries.filter((e) => e.manager === 'berth-node-agent' && e.subresource === undefined);
    t.ok(
      main.some((e) => JSON.stringify(e.fieldsV1 ?? {}).includes('f:finalizers')),
      'the finalizer is the agent’s',
    );
    t.ok(
      main.some((e) => JSON.stringify(e.fieldsV1 ?? {}).includes('f:nodeName')),
      'the binding is the agent’s',
    );
    const created = entries.find((e) => e.manager === 'e2e-creator');
    t.ok(JSON.stringify(created?.fieldsV1 ?? {}).includes('f:image'), 'the creator keeps spec.image');
  },
);

t.test('Events, the Node and its Lease are written by berth-node-agent', async (t) => {
  const c = (await cluster.get('managed')) as Container;
  const events = await cluster.kc
    .makeApiClient(CoreV1Api)
    .listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.uid=${c.metadata.uid ?? ''}` });
  t.ok(events.items.length > 0);
  for (const e of events.items)
    t.same([...new Set(managedFields(e).map((m) => m.manager))], ['berth-node-agent'], `Event ${e.reason ?? ''}`);
  const lease = await cluster.kc
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ namespace: 'kube-node-lease', name: cluster.nodeName });
  t.same([...new Set(managedFields(lease).map((m) => m.manager))], ['berth-node-agent'], 'Lease');
  const node = await cluster.kc.makeApiClient(CoreV1Api).readNode({ name: cluster.nodeName });
  t.same([...new Set(managedFields(node).map((m) => m.manager))], ['berth-node-agent'], 'Node');
});
