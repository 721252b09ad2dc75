// spec.stopped (docker stop/start on the API): the agent stops the process with the grace period, keeps the
// container, does not restart it whatever restartPolicy says, and clearing the field runs it again. Real crun; root.
import t from 'tap';
import type { Container } from '@berth/api';
import { setUpCluster } from './harness.js';

const cluster = await setUpCluster(t, { agent: true });

/** A JSON patch of the Container, as the other agent tests send them. */
async function patch(name: string, body: object[]): Promise<void> {
  await cluster.custom.patchNamespacedCustomObject({
    group: 'berth.dev',
    version: 'v1alpha1',
    namespace: 'default',
    plural: 'containers',
    name,
    body,
  });
}

const current = (c: Container) => c.status?.observedGeneration === c.metadata.generation;

t.test(
  'stopped: SIGTERM reaches the process, it stays stopped under restartPolicy Always, and starts again',
  async (t) => {
    await cluster.create('svc', {
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 20,
      args: ['sh', '-c', 'trap "exit 7" TERM; while true; do sleep 0.1; done'],
    });
    const running = await cluster.waitFor('svc', (c) => c.status?.phase === 'Running' && c.status.pid !== undefined);
    t.equal(running.status?.phase, 'Running');

    await patch('svc', [{ op: 'add', path: '/spec/stopped', value: true }]);
    const stopped = await cluster.waitFor('svc', (c) => current(c) && c.status?.phase === 'Failed', 30_000);
    t.match(
      stopped.status,
      { phase: 'Failed', exitCode: 7, restartCount: 0 },
      'its TERM trap ran: stopped, not killed',
    );
    // Level-triggered: another reconcile (the poll, 2 s here) must not restart it.
    const later = await cluster.waitFor('svc', (c) => (c.status?.restartCount ?? 0) > 0, 5_000);
    t.equal(later.status?.phase, 'Failed', 'still stopped after the poll interval');
    t.equal(later.status?.restartCount, 0, 'never restarted');

    await patch('svc', [{ op: 'remove', path: '/spec/stopped' }]);
    const again = await cluster.waitFor('svc', (c) => current(c) && c.status?.phase === 'Running', 30_000);
    t.equal(again.status?.phase, 'Running', 'running again once stopped is cleared');
    t.not(again.status?.pid, running.status?.pid, 'a new process');
  },
);

t.test('created stopped: never started', async (t) => {
  await cluster.create('parked', { stopped: true, args: ['sleep', '60'] });
  const c = await cluster.waitFor('parked', (x) => x.status?.phase !== undefined, 5_000);
  t.equal(c.status?.phase, undefined, 'no status: the agent took it but did not start it');
  t.equal(c.spec.nodeName, cluster.nodeName, 'bound to the node all the same');
});
