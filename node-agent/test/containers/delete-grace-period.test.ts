// A deleted Container is stopped within the delete's grace period (metadata.deletionGracePeriodSeconds, which the
// API server sets from `kubectl delete --grace-period` or the spec), as kubelet stops a Pod; without one, within
// spec.terminationGracePeriodSeconds.
import t from 'tap';
import { nodeName, setUpReconciler } from './reconciler-fixture.js';

const setUp = (t: { teardown(fn: () => unknown): void }) => setUpReconciler(t);

t.test("the delete's grace period wins over the spec's", async (t) => {
  const { api, runtime, settle } = setUp(t);
  const c = api.add('web', { nodeName, command: ['sleep', '3600'], terminationGracePeriodSeconds: 30 });
  await settle('web');
  api.delete('web', 2);
  await settle('web');
  t.equal(api.get('default', 'web'), undefined, 'stopped, removed, finalizer dropped');
  t.ok(runtime.calls.includes(`stop ${c.metadata.uid} 2`), 'stopped within the 2 s the delete gave');
});

t.test('a forced delete (grace 0) kills at once', async (t) => {
  const { api, runtime, settle } = setUp(t);
  const c = api.add('web', { nodeName, command: ['sleep', '3600'], terminationGracePeriodSeconds: 30 });
  await settle('web');
  api.delete('web', 0);
  await settle('web');
  t.ok(runtime.calls.includes(`stop ${c.metadata.uid} 0`));
});

t.test("no grace period on the delete: the spec's", async (t) => {
  const { api, runtime, settle } = setUp(t);
  const c = api.add('web', { nodeName, command: ['sleep', '3600'], terminationGracePeriodSeconds: 7 });
  await settle('web');
  api.delete('web');
  await settle('web');
  t.ok(runtime.calls.includes(`stop ${c.metadata.uid} 7`));
});
