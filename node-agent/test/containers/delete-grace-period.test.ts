// A deleted Container is stopped within the delete's grace period (metadata.deletionGracePeriodSeconds, which the
// API server sets from `kubectl delete --grace-period` or the spec), as kubelet stops a Pod; without one, within
// spec.terminationGracePeriodSeconds.
import { pino } from 'pino';
import t from 'tap';
import { silentLogger, type ReconcileContext } from '@berth/controller-runtime';
import { ContainerReconciler } from '../../src/containers/reconciler.js';
import { ImagePolicy } from '../../src/containers/image-policy.js';
import { FakeApi, FakeEvents, FakeImages, FakeRuntime, FakeSnapshotter } from './fakes.js';

const nodeName = 'node-a';
const ctx: ReconcileContext = { signal: new AbortController().signal, log: silentLogger, controller: 'container' };

function setUp(t: { teardown(fn: () => unknown): void }) {
  const api = new FakeApi();
  const runtime = new FakeRuntime();
  t.teardown(() => runtime.host.shutdown());
  const reconciler = new ContainerReconciler({
    nodeName,
    adoptUnbound: false,
    api,
    cache: api,
    runtime,
    snapshots: new FakeSnapshotter(),
    images: new ImagePolicy(new FakeImages()),
    events: new FakeEvents(),
    exits: { watch: () => undefined, unwatch: () => undefined },
    restartBackoff: { baseMs: 10_000, maxMs: 300_000 },
    backoffResetMs: 600_000,
    pollIntervalMs: 10_000,
    logger: pino({ level: 'silent' }),
  });
  const settle = async (name: string): Promise<void> => {
    for (let i = 0; i < 10; i++) {
      const before = api.writes.length + runtime.calls.length;
      await reconciler.reconcile(ctx, { namespace: 'default', name });
      if (api.writes.length + runtime.calls.length === before) return;
    }
  };
  return { api, runtime, settle };
}

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
