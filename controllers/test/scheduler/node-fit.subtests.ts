// The scheduler's filters and scores as pure functions: kube-scheduler's summary wording, toleration matching,
// requests (else limits) against allocatable minus what is bound, and the spread before room order.
import t from 'tap';
import type { Container } from '@berth/api';
import { tolerates, type Node } from '../../src/kinds.js';
import { requestsOf, unfitReasons, unschedulableMessage } from '../../src/scheduler/node-fit.js';
import { pickNode, spreadKey } from '../../src/scheduler/node-score.js';
import { taintsFor } from '../../src/node-lifecycle/node-health.js';

const container = (spec: Partial<Container['spec']> = {}, meta: Partial<Container['metadata']> = {}): Container =>
  ({
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: { name: 'c', namespace: 'default', uid: Math.random().toString(), ...meta },
    spec: { image: 'busybox', ...spec },
  }) as Container;

const node = (name: string, extra: Partial<Node> = {}): Node => ({
  metadata: { name, labels: {} },
  spec: {},
  status: { allocatable: { cpu: '2', memory: '1Gi' }, conditions: [{ type: 'Ready', status: 'True' }] },
  ...extra,
});

t.test('the summary counts reasons as kube-scheduler words them', async (t) => {
  t.equal(
    unschedulableMessage(
      2,
      new Map([
        ['a', ['Insufficient memory']],
        ['b', ['node(s) were unschedulable']],
      ]),
    ),
    '0/2 nodes are available: 1 Insufficient memory, 1 node(s) were unschedulable.',
  );
  t.equal(unschedulableMessage(0, new Map()), 'no nodes available to schedule containers');
});

t.test('requests fall back to limits; what is bound counts', async (t) => {
  t.same(requestsOf(container({ resources: { limits: { memory: '1Ki' } } })).memory, 1024_000n);
  const big = container({ resources: { requests: { memory: '600Mi', cpu: '1500m' } } });
  t.same(unfitReasons({ container: big, node: node('a'), bound: [], pinnedTo: undefined }), []);
  t.same(unfitReasons({ container: big, node: node('a'), bound: [big], pinnedTo: undefined }), [
    'Insufficient cpu',
    'Insufficient memory',
  ]);
  t.same(unfitReasons({ container: big, node: node('a'), bound: [], pinnedTo: 'b' }), [
    "node(s) didn't match the volume's node",
  ]);
  const cordoned = node('a', { spec: { unschedulable: true } });
  t.same(unfitReasons({ container: big, node: cordoned, bound: [big], pinnedTo: undefined }), [
    'node(s) were unschedulable',
  ]);
});

t.test('tolerations match taints as Kubernetes matches them', async (t) => {
  const taint = { key: 'k', value: 'v', effect: 'NoSchedule' as const };
  t.ok(tolerates([{ key: 'k', operator: 'Equal', value: 'v' }], taint));
  t.notOk(tolerates([{ key: 'k', operator: 'Equal', value: 'w' }], taint));
  t.ok(tolerates([{ key: 'k', operator: 'Exists' }], taint));
  t.ok(tolerates([{ operator: 'Exists' }], taint), 'an empty key with Exists tolerates everything');
  t.notOk(tolerates([{ key: 'k', operator: 'Exists', effect: 'NoExecute' }], taint), 'another effect');
  t.notOk(tolerates(undefined, taint));
});

t.test('spread first, then room', async (t) => {
  const owner = { apiVersion: 'v1', kind: 'X', name: 'o', uid: 'u1', controller: true };
  const replica = () => container({}, { ownerReferences: [owner] });
  t.equal(spreadKey(replica()), 'owner:u1');
  t.equal(spreadKey(container()), undefined, 'no owner, no labels: on its own');
  const a = { node: node('a'), bound: [replica()] };
  const b = { node: node('b'), bound: [container({ resources: { requests: { memory: '900Mi' } } })] };
  t.equal(pickNode(replica(), [a, b])?.node.metadata?.name, 'b', 'fewer peers beats more room');
  t.equal(pickNode(container(), [a, b])?.node.metadata?.name, 'a', 'without a group, more room wins');
});

t.test('taints follow the Ready condition, keeping the user’s and their timeAdded', async (t) => {
  const mine = { key: 'dedicated', value: 'db', effect: 'NoSchedule' as const };
  const unknown = taintsFor([mine], 'Unknown', 'T1');
  t.same(
    unknown.map((x) => `${x.key}:${x.effect}`),
    ['dedicated:NoSchedule', 'node.kubernetes.io/unreachable:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute'],
  );
  t.same(taintsFor(unknown, 'Unknown', 'T2'), unknown, 'timeAdded kept');
  t.same(
    taintsFor(unknown, 'False', 'T3').map((x) => x.key),
    ['dedicated', 'node.kubernetes.io/not-ready', 'node.kubernetes.io/not-ready'],
  );
  t.same(taintsFor(unknown, 'True', 'T4'), [mine]);
});
