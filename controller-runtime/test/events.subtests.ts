// The Event recorder against a real API server: v1 Events about any object, with the reporting component's
// name, repeats folded into one Event's count, and the caller's field manager on the write.
import t from 'tap';
import type { KubernetesObject } from '@kubernetes/client-node';
import { ApiClient, EventRecorder, InvalidOptionError, Manager } from '../src/index.js';
import { configMap, configMaps, events, startApi } from './harness.js';

interface EventObject extends KubernetesObject {
  involvedObject: { kind?: string; name?: string; namespace?: string; uid?: string; apiVersion?: string };
  reason?: string;
  message?: string;
  type?: string;
  count?: number;
  source?: { component?: string; host?: string };
  reportingComponent?: string;
  reportingInstance?: string;
}

t.test(
  'Events name the object, the reason and the component; a repeat bumps count instead of adding one',
  async (t) => {
    const api = await startApi(t);
    const client = new ApiClient({
      kubeconfig: api.kc,
      userAgent: 'berth-events-test',
      fieldManager: 'events-test-manager',
    });
    t.teardown(() => client.close());
    const recorder = new EventRecorder(client, { component: 'berth-test-controller', host: 'host-1' });
    const cm = await api.client.create(configMaps, configMap('subject'));
    recorder.event(cm, 'Normal', 'Synced', 'configuration applied');
    recorder.event(cm, 'Warning', 'Invalid', 'key "x" is not allowed');
    recorder.event(cm, 'Warning', 'Invalid', 'key "x" is not allowed');
    recorder.event(cm, 'Warning', 'Invalid', 'key "x" is not allowed');
    await recorder.flush();

    const { items } = await api.client.list<EventObject>(events, { namespace: 'default' });
    t.equal(items.length, 2, 'three identical warnings are one Event');
    const synced = items.find((e) => e.reason === 'Synced');
    const invalid = items.find((e) => e.reason === 'Invalid');
    t.match(synced, {
      type: 'Normal',
      message: 'configuration applied',
      count: 1,
      involvedObject: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        name: 'subject',
        namespace: 'default',
        uid: cm.metadata?.uid,
      },
      source: { component: 'berth-test-controller', host: 'host-1' },
      reportingComponent: 'berth-test-controller',
      reportingInstance: 'host-1',
    });
    t.match(invalid, { type: 'Warning', message: 'key "x" is not allowed', count: 3 });
    t.ok(invalid?.metadata?.name?.startsWith('subject.'), 'named <object>.<suffix>');
    const managers = (synced?.metadata?.managedFields ?? []).map((f) => f.manager);
    t.ok(managers.includes('events-test-manager'), `written by the field manager given (${JSON.stringify(managers)})`);
  },
);

t.test("a manager's recorders are flushed on close, and a recorder needs a component", async (t) => {
  const api = await startApi(t);
  const mgr = new Manager({ kubeconfig: api.kc });
  const recorder = mgr.eventRecorder('berth-flush-test');
  const cm = await api.client.create(configMaps, configMap('flushed'));
  recorder.event(cm, 'Normal', 'Done', 'written before close returns');
  await mgr.start();
  await mgr.close();
  const { items } = await api.client.list<EventObject>(events, { namespace: 'default' });
  t.same(
    items.map((e) => e.reason),
    ['Done'],
  );
  t.throws(() => new EventRecorder(api.client, { component: '' }), { name: 'InvalidOptionError' });
  t.ok(InvalidOptionError.isInstance(new InvalidOptionError('x')));
});

t.test('Events queued under a hold are written once it is released, or after maxHoldMs while it is held', async (t) => {
  const api = await startApi(t);
  const held = new EventRecorder(api.client, { component: 'berth-hold-test', maxHoldMs: 60_000 });
  const cm = await api.client.create(configMaps, configMap('held'));
  const reasons = async () =>
    (await api.client.list<EventObject>(events, { namespace: 'default' })).items
      .filter((e) => e.involvedObject.uid === cm.metadata?.uid)
      .map((e) => e.reason)
      .sort();
  const release = held.hold();
  const second = held.hold();
  held.event(cm, 'Normal', 'First', 'queued under two holds');
  held.event(cm, 'Normal', 'Second', 'queued under two holds');
  // A GET after the queueing: had the writes not been held back, they would have been sent before it.
  await api.client.get(configMaps, 'default', 'held');
  t.same(await reasons(), [], 'nothing written while held');
  release();
  release();
  t.same(await reasons(), [], 'one release of two: still held (a second call of a release does nothing)');
  second();
  await held.flush();
  t.same(await reasons(), ['First', 'Second'], 'written once the last hold is released');

  const bounded = new EventRecorder(api.client, { component: 'berth-hold-test', maxHoldMs: 0 });
  const forever = bounded.hold();
  t.teardown(forever);
  bounded.event(cm, 'Normal', 'Bounded', 'held at most maxHoldMs');
  let written = false;
  for (let tries = 0; !written && tries < 100; tries++) {
    written = (await reasons()).includes('Bounded');
    if (!written) await new Promise((r) => setTimeout(r, 20));
  }
  t.ok(written, 'written while the hold is still taken, once maxHoldMs passed');
  t.throws(() => new EventRecorder(api.client, { component: 'x', maxHoldMs: -1 }), { name: 'InvalidOptionError' });
});
