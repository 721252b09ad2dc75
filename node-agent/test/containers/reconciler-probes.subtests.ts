// What the reconciler does with the probes' verdict, with a fake Runtime and a scripted verdict: not ready keeps a
// running container Running with Ready=False and the probe's words; a liveness kill stops it with kubelet's Killing
// Event and restartPolicy decides (a counted restart after back-off, or Failed with Never); the probes of a run
// are dropped when it ends.
import t from 'tap';
import type { Container } from '@berth/api';
import type { ProbeVerdict } from '../../src/probes/prober.js';
import { nodeName, setUpReconciler } from './reconciler-fixture.js';

function setUp(t: { teardown(fn: () => unknown): void }) {
  const verdicts = new Map<string, ProbeVerdict>();
  const synced: string[] = [];
  const removed: string[] = [];
  const order: string[] = [];
  const { api, runtime, events, settle } = setUpReconciler(t, {
    beforeStop: async (c) => {
      order.push(
        `beforeStop ${c.metadata.name ?? ''} (stops so far: ${runtime.calls.filter((x) => x.startsWith('stop')).length})`,
      );
    },
    probes: {
      sync: (_c, id, _key, startedAt) => void synced.push(`${id} ${startedAt ?? ''}`),
      verdict: (id) => verdicts.get(id) ?? { started: true, ready: true },
      remove: (id) => void removed.push(id),
    },
  });
  const get = (name: string): Container => api.get('default', name) as Container;
  return { api, runtime, events, verdicts, synced, removed, order, settle, get };
}

const ready = (c: Container) => c.status?.conditions?.find((x) => x.type === 'Ready');

t.test('a readiness verdict sets the Ready condition of a running container, and only that', async (t) => {
  const s = setUp(t);
  const c = s.api.add('web', { nodeName, command: ['sleep', '3600'] });
  const uid = c.metadata.uid ?? '';
  s.verdicts.set(uid, {
    started: true,
    ready: false,
    message: 'readiness probe failed: HTTP probe failed with statuscode: 503',
  });
  await s.settle('web');
  t.equal(s.get('web').status?.phase, 'Running');
  t.same(
    [ready(s.get('web'))?.status, ready(s.get('web'))?.reason, ready(s.get('web'))?.message],
    ['False', 'ReadinessProbeFailed', 'readiness probe failed: HTTP probe failed with statuscode: 503'],
  );
  t.ok(
    s.synced.some((x) => x.startsWith(`${uid} `)),
    'the run is probed',
  );
  s.verdicts.set(uid, { started: false, ready: false, message: 'startup probe has not succeeded yet' });
  await s.settle('web');
  t.equal(ready(s.get('web'))?.reason, 'StartupProbePending');
  s.verdicts.delete(uid);
  await s.settle('web');
  t.same([ready(s.get('web'))?.status, ready(s.get('web'))?.reason], ['True', 'ContainerRunning']);
  t.equal(s.get('web').status?.restartCount, 0);
});

t.test('a liveness kill stops the container with a Killing Event; Always restarts it after back-off', async (t) => {
  const s = setUp(t);
  const c = s.api.add('alive', { nodeName, command: ['sleep', '3600'], terminationGracePeriodSeconds: 1 });
  const uid = c.metadata.uid ?? '';
  await s.settle('alive');
  s.verdicts.set(uid, { started: true, ready: true, kill: { kind: 'liveness', output: 'no' } });
  await s.settle('alive');
  s.verdicts.delete(uid);
  t.ok(s.runtime.calls.includes(`stop ${uid} 1`), 'stopped with its grace period');
  t.ok(s.events.seen.includes('alive Normal Killing: Container alive failed liveness probe, will be restarted'));
  t.ok(s.removed.includes(uid), "the killed run's probes are dropped");
  const st = s.get('alive').status;
  t.equal(st?.reason, 'CrashLoopBackOff', 'restarted after the back-off, as any exit');
  t.equal(ready(s.get('alive'))?.status, 'False');
});

t.test('a startup kill with restartPolicy Never leaves it Failed', async (t) => {
  const s = setUp(t);
  const c = s.api.add('once', {
    nodeName,
    command: ['sleep', '3600'],
    restartPolicy: 'Never',
    terminationGracePeriodSeconds: 0,
  });
  const uid = c.metadata.uid ?? '';
  await s.settle('once');
  s.verdicts.set(uid, { started: false, ready: false, kill: { kind: 'startup', output: 'no' } });
  await s.settle('once');
  t.ok(s.events.seen.includes('once Normal Killing: Container once failed startup probe'));
  t.equal(s.get('once').status?.phase, 'Failed');
  t.equal(s.get('once').status?.restartCount, 0);
});

t.test('a deleted Container leaves its Services (beforeStop) before its container is stopped', async (t) => {
  const s = setUp(t);
  const c = s.api.add('web', { nodeName, command: ['sleep', '3600'], terminationGracePeriodSeconds: 0 });
  await s.settle('web');
  s.api.delete('web');
  await s.settle('web');
  t.same(s.order, ['beforeStop web (stops so far: 0)'], 'asked once, before any stop');
  t.ok(s.runtime.calls.includes(`stop ${c.metadata.uid ?? ''} 0`), 'then stopped');
});
