// The agent's status write does not drop a condition a client set (pods/status) that its cache has not seen yet:
// a patch that changes the conditions list is pinned to the resourceVersion it was computed from, and a conflict
// computes it again from the stored Container.
import t from 'tap';
import type { Container } from '@berth/api';
import { FakeApi } from './fakes.js';
import { ctx, nodeName, setUpReconciler } from './reconciler-fixture.js';

/** The fake API server, answering a pinned status patch of an older resourceVersion with 409 as the server does. */
class PinningApi extends FakeApi {
  conflicts = 0;
  override async patchContainerStatus(
    namespace: string,
    name: string,
    status: Record<string, unknown>,
    resourceVersion?: string,
  ): Promise<Container> {
    if (resourceVersion !== undefined && resourceVersion !== this.get(namespace, name)?.metadata.resourceVersion) {
      this.conflicts++;
      throw Object.assign(new Error('the object has been modified'), { code: 409 });
    }
    return super.patchContainerStatus(namespace, name, status);
  }
}

t.test("a client's condition added behind a stale cache survives the agent's next status write", async (t) => {
  const api = new PinningApi();
  let frozen: Container | undefined;
  const cache = { get: (ns: string, n: string) => frozen ?? api.get(ns, n), list: () => api.list() };
  const { runtime, reconciler } = setUpReconciler(t, { api, cache });
  const c = api.add('web', { nodeName, command: ['sleep', '3600'], restartPolicy: 'Never' });
  for (let i = 0; i < 5; i++) await reconciler.reconcile(ctx, { namespace: 'default', name: 'web' });
  const running = api.get('default', 'web');
  t.equal(running?.status?.phase, 'Running');
  // The agent's cache stops here; a client then sets a condition of its own.
  frozen = structuredClone(running);
  const gate = { type: 'example.com/gate', status: 'True', lastTransitionTime: '2026-12-01T00:00:00Z' };
  await api.patchContainerStatus('default', 'web', { conditions: [...(running?.status?.conditions ?? []), gate] });
  runtime.exitWith(c.metadata.uid ?? '', 3);
  await reconciler.reconcile(ctx, { namespace: 'default', name: 'web' });
  const after = api.get('default', 'web')?.status;
  t.equal(after?.phase, 'Failed', "the agent's status is written");
  t.equal(after?.conditions?.find((x) => x.type === 'Running')?.status, 'False');
  t.match(
    after?.conditions?.find((x) => x.type === 'example.com/gate'),
    gate,
    "and the client's condition is kept",
  );
  t.ok(api.conflicts >= 1, 'the stale write was refused, then computed again');
});
