// A Container's states as a Pod shows them (the projection and the cells of `kubectl get pods`), and what a Pod
// write may change: pure functions, no server.

import t from 'tap';
import type { KubeObject } from '../../src/objects/object.js';
import { containerToPod } from '../../src/pod-view/pod-projection.js';
import { podCells } from '../../src/pod-view/pod-table.js';
import { podStatusWriteToContainer } from '../../src/pod-view/pod-status-write.js';
import { podToContainer, podWriteToContainer } from '../../src/pod-view/pod-to-container.js';

const container = (status: Record<string, unknown>, spec: Record<string, unknown> = {}, meta = {}): KubeObject => ({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'Container',
  metadata: { name: 'c', namespace: 'default', uid: 'u1', resourceVersion: '7', ...meta },
  spec: { image: 'busybox', nodeName: 'n1', ...spec },
  status,
});
const cells = (c: KubeObject) => {
  const pod = containerToPod(c);
  const now = Date.parse('2026-12-01T12:00:00Z');
  return ['Ready', 'Status', 'Restarts'].map((k) => podCells[k]!(pod, now));
};
const ready = { type: 'Ready', status: 'True' };
const running = { type: 'Running', status: 'True' };

t.test('STATUS is the reason a user must see first, as kubectl prints it', async (t) => {
  t.same(cells(container({ phase: 'Running', conditions: [ready, running], restartCount: 0 })), [
    '1/1',
    'Running',
    '0',
  ]);
  t.same(
    cells(
      container({
        phase: 'Running',
        reason: 'CrashLoopBackOff',
        exitCode: 1,
        restartCount: 3,
        finishedAt: '2026-12-01T11:58:00Z',
        conditions: [{ type: 'Running', status: 'False' }],
      }),
    ),
    ['0/1', 'CrashLoopBackOff', '3 (2m ago)'],
  );
  t.same(cells(container({ phase: 'Succeeded', exitCode: 0, reason: 'Completed' })), ['0/1', 'Completed', '0']);
  t.same(cells(container({ phase: 'Failed', exitCode: 137, reason: 'OOMKilled' })), ['0/1', 'OOMKilled', '0']);
  t.same(cells(container({ phase: 'Pending', reason: 'ImagePullBackOff' })), ['0/1', 'ImagePullBackOff', '0']);
  t.same(cells(container({ phase: 'Pulling' })), ['0/1', 'ContainerCreating', '0']);
  t.same(
    cells(container({ phase: 'Pulling', reason: 'Pulling' })),
    ['0/1', 'ContainerCreating', '0'],
    "the agent's Pulling reads as kubelet's",
  );
  t.same(cells(container({}, { nodeName: '' })), ['0/1', 'Pending', '0'], 'unbound: no container status yet');
  t.same(
    cells(
      container({ phase: 'Running', conditions: [ready, running] }, {}, { deletionTimestamp: '2026-12-01T11:59:00Z' }),
    ),
    ['1/1', 'Terminating', '0'],
  );
});

t.test('the Pod carries the Container identity, spec and status in Pod words', async (t) => {
  const pod = containerToPod(
    container(
      {
        phase: 'Running',
        conditions: [ready, running],
        ips: [{ ip: '10.0.0.5', network: 'berth' }],
        startedAt: '2026-12-01T11:00:00Z',
      },
      {
        command: ['httpd'],
        ports: [{ containerPort: 80 }],
        resources: { limits: { cpu: '1', memory: '64Mi', pids: 10 } },
      },
      {
        labels: { app: 'web' },
        ownerReferences: [{ apiVersion: 'berth.dev/v1alpha1', kind: 'Service', name: 's', uid: 'o' }],
      },
    ),
  );
  t.match(pod, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'c',
      uid: 'u1',
      resourceVersion: '7',
      labels: { app: 'web' },
      ownerReferences: [{ kind: 'Service' }],
    },
    spec: {
      nodeName: 'n1',
      containers: [
        { name: 'c', image: 'busybox', command: ['httpd'], resources: { limits: { cpu: '1', memory: '64Mi' } } },
      ],
    },
    status: {
      phase: 'Running',
      podIP: '10.0.0.5',
      podIPs: [{ ip: '10.0.0.5' }],
      qosClass: 'Guaranteed',
      containerStatuses: [{ name: 'c', ready: true, state: { running: { startedAt: '2026-12-01T11:00:00Z' } } }],
    },
  });
  t.equal(
    (pod['spec'] as { containers: { resources: { limits: Record<string, unknown> } }[] }).containers[0]?.resources
      .limits['pids'],
    undefined,
    'pids is no Pod resource',
  );
});

t.test('a Pod write may change metadata and the image, nothing else of the spec', async (t) => {
  const current = container({ phase: 'Running' }, { command: ['sh'] }, { labels: { a: '1' } });
  const pod = containerToPod(current);
  const relabelled = podWriteToContainer(current, { ...pod, metadata: { ...pod.metadata, labels: { b: '2' } } });
  t.same(relabelled.metadata.labels, { b: '2' });
  const spec = pod['spec'] as { containers: Record<string, unknown>[] };
  const newImage = { ...pod, spec: { ...spec, containers: [{ ...spec.containers[0], image: 'busybox:2' }] } };
  t.equal((podWriteToContainer(current, newImage)['spec'] as { image: string }).image, 'busybox:2');
  t.throws(
    () => podWriteToContainer(current, { ...pod, spec: { ...spec, restartPolicy: 'Never' } }),
    /may not change fields/,
  );
  t.throws(
    () =>
      podToContainer(
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'p' },
          spec: {
            containers: [{ name: 'x', image: 'i' }],
            volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'c' } }],
          },
        },
        'berth.dev/v1alpha1',
      ),
    /spec\.volumes\[0\]\.persistentVolumeClaim: Forbidden/,
  );
});

t.test("hostIP is the node's address the agent wrote, once the Pod is bound", async (t) => {
  const bound = containerToPod(container({ phase: 'Running', hostIP: '192.0.2.7' }));
  t.match(bound['status'], { hostIP: '192.0.2.7', hostIPs: [{ ip: '192.0.2.7' }] });
  const unbound = containerToPod(container({ hostIP: '192.0.2.7' }, { nodeName: '' }));
  t.equal((unbound['status'] as Record<string, unknown>)['hostIP'], undefined);
});

t.test('pods/status: a client sets conditions of its own types; what the agent writes is refused', async (t) => {
  const current = container({ phase: 'Running', conditions: [ready, running] });
  const pod = containerToPod(current);
  const status = pod['status'] as { conditions: Record<string, unknown>[] };
  const gate = { type: 'example.com/gate', status: 'True', reason: 'Checked' };
  const next = podStatusWriteToContainer(current, {
    ...pod,
    status: { ...status, conditions: [...status.conditions, gate] },
  });
  const kept = (next['status'] as { conditions: Record<string, unknown>[] }).conditions;
  t.match(kept, [ready, running, { ...gate, lastTransitionTime: /^\d{4}-/ }], 'kept on the Container');
  const shown = (containerToPod(next)['status'] as { conditions: { type: string }[] }).conditions.map((c) => c.type);
  t.same(shown, ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready', 'example.com/gate'], 'shown on the Pod');
  const merged = podStatusWriteToContainer(next, { ...pod, status: { ...status, conditions: [gate] } });
  t.equal(
    (merged['status'] as { conditions: unknown[] }).conditions.length,
    3,
    'a list of only the own conditions leaves the rest computed',
  );
  t.throws(
    () => podStatusWriteToContainer(current, { ...pod, status: { ...status, phase: 'Failed' } }),
    /status\.phase: Forbidden: berth: the node agent writes it/,
  );
  t.throws(
    () =>
      podStatusWriteToContainer(current, {
        ...pod,
        status: { ...status, conditions: [{ type: 'Ready', status: 'False' }] },
      }),
    /the Ready condition is the node agent's/,
  );
});

t.test("a Pod write that only adds Kubernetes' defaults is no spec change", async (t) => {
  const current = container({ phase: 'Running' }, { command: ['sh'] });
  const pod = containerToPod(current);
  const spec = pod['spec'] as Record<string, unknown>;
  const next = podWriteToContainer(current, { ...pod, spec: { ...spec, securityContext: {}, priority: 0 } });
  t.same(next['spec'], current['spec']);
  t.throws(
    () => podWriteToContainer(current, { ...pod, spec: { ...spec, initContainers: [{ name: 'i', image: 'x' }] } }),
    /may not change fields/,
  );
});

t.test('after a restart, lastState is how the run before ended, and RESTARTS says when', async (t) => {
  const restarted = container({
    phase: 'Running',
    conditions: [ready, running],
    restartCount: 1,
    lastTermination: { exitCode: 1, reason: 'Error', finishedAt: '2026-12-01T11:59:00Z', containerID: 'u1' },
  });
  const status = containerToPod(restarted)['status'] as { containerStatuses: Record<string, unknown>[] };
  t.same(status.containerStatuses[0]?.['lastState'], {
    terminated: { exitCode: 1, reason: 'Error', finishedAt: '2026-12-01T11:59:00Z', containerID: 'berth://u1' },
  });
  t.same(cells(restarted), ['1/1', 'Running', '1 (60s ago)']);
});
