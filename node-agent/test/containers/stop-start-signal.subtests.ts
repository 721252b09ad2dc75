// docker start after docker stop keeps the container's writes (one writable layer, made once), while an edit of
// the spec between them gets a fresh one; `berth kill`'s annotation sends its signal to the running process once
// and is taken off, a bad one answered with a Warning. With the fake Runtime and Snapshotter.
import t from 'tap';
import type { Container } from '@berth/api';
import { signalAnnotation } from '../../src/containers/signal-request.js';
import { nodeName, setUpReconciler } from './reconciler-fixture.js';

/** The reconciler fixture, and the Container `name` as the fake API holds it now. */
function setUp(t: { teardown(fn: () => unknown): void }) {
  const fixture = setUpReconciler(t);
  const get = (name: string): Container => {
    const c = fixture.api.get('default', name);
    if (c === undefined) throw new Error(`${name} is gone`);
    return c;
  };
  return { ...fixture, get };
}

t.test(
  'start after stop runs the same writable layer again; a spec edited while stopped gets a fresh one',
  async (t) => {
    const { api, runtime, snapshots, settle, get } = setUp(t);
    const c = api.add('web', { nodeName, command: ['sleep', '3600'] });
    await settle('web');
    const uid = c.metadata.uid ?? '';
    api.editSpec('web', { stopped: true, terminationGracePeriodSeconds: 1 });
    await settle('web');
    t.equal(get('web').status?.phase, 'Failed', 'stopped (SIGTERM ends the fake with 143)');
    api.editSpec('web', { stopped: false });
    await settle('web');
    t.equal(get('web').status?.phase, 'Running', 'started again');
    t.equal(snapshots.made, 1, 'one writable layer, kept through stop and start');
    t.ok(snapshots.snapshots.has(uid));
    t.same(runtime.calls.slice(-3), [`delete ${uid}`, `create ${uid}`, `start ${uid}`]);

    api.editSpec('web', { stopped: true });
    await settle('web');
    api.editSpec('web', { stopped: false, command: ['sleep', '7200'] });
    await settle('web');
    t.equal(get('web').status?.phase, 'Running');
    t.equal(snapshots.made, 2, 'a changed command is a new container: a fresh writable layer');
    t.same(runtime.configOf(uid)?.args, ['sleep', '7200']);
  },
);

t.test('a signal request reaches the running process once and is taken off; a bad one is a Warning', async (t) => {
  const { api, runtime, events, settle, get } = setUp(t);
  const c = api.add('web', { nodeName, command: ['sleep', '3600'], restartPolicy: 'Never' });
  await settle('web');
  const uid = c.metadata.uid ?? '';
  const kills: string[] = [];
  const kill = runtime.kill.bind(runtime);
  runtime.kill = async (id, signal) => {
    kills.push(`${id} ${signal}`);
    return kill(id, signal);
  };
  await api.patchContainer('default', 'web', { metadata: { annotations: { [signalAnnotation]: 'bogus' } } });
  await settle('web');
  t.same(kills, [], 'nothing sent');
  t.match(events.seen.join('\n'), /Warning InvalidSignal: Cannot send "bogus": not a signal/);
  t.equal(get('web').metadata.annotations?.[signalAnnotation], undefined, 'answered');

  await api.patchContainer('default', 'web', { metadata: { annotations: { [signalAnnotation]: 'KILL' } } });
  await settle('web');
  t.same(kills, [`${uid} SIGKILL`]);
  t.equal(get('web').metadata.annotations?.[signalAnnotation], undefined, 'taken off once sent');
  t.match(get('web').status, { phase: 'Failed', exitCode: 137 }, 'its exit recorded');
});
