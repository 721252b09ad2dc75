// The container reconciler decides from what it observes, with a fake Runtime: a missing container is created, an
// exited one with restartPolicy Always restarts after a back-off computed from status, a changed spec replaces the
// container, a deletion stops and removes it; failed pulls show ErrImagePull then ImagePullBackOff and back off
// through the queue (a thrown error), never through memory of its own.
import { pino } from 'pino';
import t from 'tap';
import type { Container } from '@berth/api';
import { ContainerReconciler, finalizer } from '../../src/containers/reconciler.js';
import { ImagePolicy } from '../../src/containers/image-policy.js';
import { BackOffError } from '../../src/containers/errors.js';
import { RuntimeError } from '../../src/runtime/errors.js';
import { NetworkDns } from '../../src/network/dns-server.js';
import type { Networks } from '../../src/network/network.js';
import type { FakeApi } from './fakes.js';
import { ctx, nodeName, setUpReconciler } from './reconciler-fixture.js';

const req = (name: string) => ({ namespace: 'default', name });

function setUp(t: { teardown(fn: () => unknown): void }, options: { adoptUnbound?: boolean } = {}) {
  const watched = new Set<string>();
  const fixture = setUpReconciler(t, {
    adoptUnbound: options.adoptUnbound === true,
    exits: { watch: (id) => watched.add(id), unwatch: (id) => watched.delete(id) },
  });
  return { ...fixture, watched };
}

const get = (api: FakeApi, name: string): Container => {
  const c = api.get('default', name);
  if (c === undefined) throw new Error(`${name} is gone`);
  return c;
};

t.test('missing container → finalizer, create, start, Running status; a second reconcile does nothing', async (t) => {
  const { api, runtime, watched, reconciler, settle } = setUp(t);
  const c = api.add('web', { nodeName, command: ['sleep', '3600'] });
  await settle('web');
  const uid = c.metadata.uid ?? '';
  t.ok(get(api, 'web').metadata.finalizers?.includes(finalizer));
  t.equal((await runtime.state(uid).catch(() => undefined))?.status, 'running');
  t.same(runtime.calls, [`create ${uid}`, `start ${uid}`]);
  const status = get(api, 'web').status;
  t.equal(status?.phase, 'Running');
  t.equal(status?.containerID, uid);
  t.equal(status?.reason, undefined);
  t.equal(status?.conditions?.find((x) => x.type === 'Ready')?.status, 'True');
  t.ok(watched.has(uid), 'its exit is watched');

  const writes = api.writes.length;
  const result = await reconciler.reconcile(ctx, req('web'));
  t.equal(api.writes.length, writes, 'no write when nothing changed');
  t.same(runtime.calls, [`create ${uid}`, `start ${uid}`], 'no runtime call either');
  t.equal(result.requeueAfterMs, 10_000, 'the safety-net poll');
});

t.test('a first start goes on from the finalizer it wrote: one status write, no conflict and re-read', async (t) => {
  const { api, reconciler } = setUp(t);
  api.add('first', { nodeName, command: ['sleep', '3600'] });
  await reconciler.reconcile(ctx, req('first'));
  t.equal(get(api, 'first').status?.phase, 'Running');
  // Pinned to the copy from before the finalizer, the first status write got a 409, then a re-read (an empty JSON
  // patch), then a second try.
  t.same(
    api.writes.filter((w) => w.startsWith('jsonpatch')),
    ['jsonpatch first'],
    'the finalizer is the only JSON patch',
  );
  t.ok(api.writes.length >= 2 && api.writes.slice(1).every((w) => w === 'status first'), 'then status writes only');
});

t.test('a Container of another node or unbound is left alone; adoptUnbound binds an unbound one', async (t) => {
  const { api, runtime, settle } = setUp(t);
  api.add('theirs', { nodeName: 'node-b' });
  api.add('unbound', {});
  await settle('theirs');
  await settle('unbound');
  t.equal(runtime.host.containers.size, 0);
  t.same(api.writes, [], 'not written to');

  const adopting = setUp(t, { adoptUnbound: true });
  adopting.api.add('unbound', {});
  await adopting.settle('unbound');
  const c = get(adopting.api, 'unbound');
  t.equal(c.spec.nodeName, nodeName, 'bound to this node');
  t.equal(c.status?.phase, 'Running');
});

t.test(
  'exited with restartPolicy Always: CrashLoopBackOff for base × 2^restartCount after finishedAt, then restarted',
  async (t) => {
    const { api, runtime, events, settle } = setUp(t);
    const c = api.add('crasher', { nodeName, restartPolicy: 'Always' });
    await settle('crasher');
    const uid = c.metadata.uid ?? '';
    runtime.exitWith(uid, 3);
    const wait = await settle('crasher');
    const s = get(api, 'crasher').status;
    t.equal(s?.reason, 'CrashLoopBackOff');
    t.equal(s?.phase, 'Running');
    t.equal(s?.exitCode, 3);
    t.equal(s?.conditions?.find((x) => x.type === 'Ready')?.reason, 'CrashLoopBackOff');
    t.ok(
      (wait.requeueAfterMs ?? 0) > 9_000 && (wait.requeueAfterMs ?? 0) <= 10_000,
      `requeued after the 10 s back-off (${wait.requeueAfterMs ?? 0} ms)`,
    );
    t.equal(
      events.seen.filter((e) => e.includes('BackOff')).length,
      1,
      'BackOff announced once, however often it is reconciled',
    );
    t.equal((await runtime.state(uid).catch(() => undefined))?.status, 'exited', 'not restarted during the back-off');

    // The back-off is computed from observed finishedAt: an exit 11 s ago is due now.
    runtime.exitWith(uid, 3, { finishedAt: new Date(Date.now() - 11_000) });
    await settle('crasher');
    t.equal((await runtime.state(uid).catch(() => undefined))?.status, 'running', 'restarted once due');
    t.equal(get(api, 'crasher').status?.restartCount, 1);
    t.equal(get(api, 'crasher').status?.reason, undefined, 'Running again, no reason');

    // Second crash: restartCount 1 doubles the delay to 20 s.
    runtime.exitWith(uid, 3, { finishedAt: new Date(Date.now() - 11_000) });
    const second = await settle('crasher');
    t.ok(
      (second.requeueAfterMs ?? 0) > 8_000 && (second.requeueAfterMs ?? 0) <= 9_000,
      `20 s from finishedAt (${second.requeueAfterMs ?? 0} ms left)`,
    );
    t.equal(get(api, 'crasher').status?.reason, 'CrashLoopBackOff');
  },
);

t.test('a fresh reconciler (an agent restart) reaches the same decision from the same observations', async (t) => {
  const first = setUp(t);
  const c = first.api.add('crasher', { nodeName });
  await first.settle('crasher');
  first.runtime.exitWith(c.metadata.uid ?? '', 1);
  const a = await first.settle('crasher');
  const again = new ContainerReconciler({
    nodeName,
    adoptUnbound: false,
    api: first.api,
    cache: first.api,
    runtime: first.runtime,
    snapshots: first.snapshots,
    images: new ImagePolicy(first.images),
    events: first.events,
    exits: { watch: () => undefined, unwatch: () => undefined },
    restartBackoff: { baseMs: 10_000, maxMs: 300_000 },
    backoffResetMs: 600_000,
    pollIntervalMs: 10_000,
    logger: pino({ level: 'silent' }),
  });
  const writes = first.api.writes.length;
  const b = await again.reconcile(ctx, req('crasher'));
  t.ok(Math.abs((a.requeueAfterMs ?? 0) - (b.requeueAfterMs ?? 0)) < 1_000, 'same remaining back-off');
  t.equal(first.api.writes.length, writes, 'and nothing to write');
});

t.test(
  'exit codes become Completed, Error and OOMKilled; restartPolicy decides between settling and restarting',
  async (t) => {
    const { api, runtime, settle } = setUp(t);
    const cases = [
      { name: 'done', policy: 'Never', exit: 0, oom: false, phase: 'Succeeded', reason: 'Completed' },
      { name: 'failed', policy: 'Never', exit: 2, oom: false, phase: 'Failed', reason: 'Error' },
      { name: 'hog', policy: 'Never', exit: 137, oom: true, phase: 'Failed', reason: 'OOMKilled' },
      { name: 'clean', policy: 'OnFailure', exit: 0, oom: false, phase: 'Succeeded', reason: 'Completed' },
      { name: 'retry', policy: 'OnFailure', exit: 1, oom: false, phase: 'Running', reason: 'CrashLoopBackOff' },
    ] as const;
    for (const x of cases) {
      const c = api.add(x.name, { nodeName, restartPolicy: x.policy });
      await settle(x.name);
      runtime.exitWith(c.metadata.uid ?? '', x.exit, { oomKilled: x.oom });
      const r = await settle(x.name);
      const s = get(api, x.name).status;
      t.equal(s?.phase, x.phase, `${x.name}: phase ${x.phase}`);
      t.equal(s?.reason, x.reason, `${x.name}: reason ${x.reason}`);
      t.equal(s?.exitCode, x.exit);
      if (x.phase !== 'Running') t.same(r, {}, `${x.name}: settled, no requeue`);
    }
  },
);

t.test('a changed spec replaces the running container, with its grace period', async (t) => {
  const { api, runtime, settle } = setUp(t);
  const c = api.add('web', {
    nodeName,
    command: ['sh', '-c', 'trap "exit 143" SIGTERM; sleep 3600'],
    terminationGracePeriodSeconds: 5,
  });
  await settle('web');
  const uid = c.metadata.uid ?? '';
  api.editSpec('web', { command: ['sh', '-c', 'trap "exit 143" SIGTERM; sleep 7200'] });
  await settle('web');
  t.same(runtime.calls, [
    `create ${uid}`,
    `start ${uid}`,
    `stop ${uid} 5`,
    `delete ${uid}`,
    `create ${uid}`,
    `start ${uid}`,
  ]);
  t.same(runtime.configOf(uid)?.args, ['sh', '-c', 'trap "exit 143" SIGTERM; sleep 7200'], 'the new spec runs');
  t.equal(get(api, 'web').status?.observedGeneration, 2);
  t.equal(get(api, 'web').status?.restartCount, 0, 'a replacement is not a restart');
});

t.test('deleted → stop, remove container and snapshot, drop the finalizer; forced away → orphan removed', async (t) => {
  const { api, runtime, snapshots, settle } = setUp(t);
  const c = api.add('web', { nodeName, terminationGracePeriodSeconds: 3 });
  await settle('web');
  const uid = c.metadata.uid ?? '';
  api.delete('web');
  await settle('web');
  t.equal(api.get('default', 'web'), undefined, 'the finalizer let go, so the Container is gone');
  t.notOk(runtime.host.containers.has(uid), 'container removed');
  t.notOk(snapshots.snapshots.has(uid), 'snapshot removed');
  t.ok(runtime.calls.includes(`stop ${uid} 3`), 'stopped with its grace period');

  const forced = api.add('forced', { nodeName });
  await settle('forced');
  api.objects.delete('default/forced');
  await settle('forced');
  t.notOk(runtime.host.containers.has(forced.metadata.uid ?? ''), 'the orphan of a force-removed Container is removed');
});

t.test('a start lists the node for orphans only when a Container left the cache since the last sweep', async (t) => {
  const { api, runtime, settle } = setUp(t);
  let listings = 0;
  const ids = runtime.ids.bind(runtime);
  runtime.ids = async () => {
    listings++;
    return ids();
  };
  const first = api.add('a', { nodeName });
  await settle('a');
  t.equal(listings, 1, 'the first start sweeps');
  api.add('b', { nodeName });
  await settle('b');
  t.equal(listings, 1, 'nothing left the cache: the next start does not');
  // Replaced under its name without the agent seeing it go (a forced delete, then a create).
  api.objects.delete('default/a');
  const second = api.add('a', { nodeName });
  await settle('a');
  t.equal(listings, 2, 'a uid gone from the cache: the start sweeps');
  t.notOk(runtime.host.containers.has(first.metadata.uid ?? ''), 'and removes the replaced one');
  t.ok(runtime.host.containers.has(second.metadata.uid ?? ''), 'keeping its successor');
  // A delete the agent tore down itself leaves nothing behind to sweep for.
  api.delete('b');
  await settle('b');
  api.add('c', { nodeName });
  await settle('c');
  t.equal(listings, 2, 'after a delete the agent handled, no sweep');
});

t.test(
  'a missing image: ErrImagePull, then ImagePullBackOff; each failure throws so the queue backs off; a fixed image runs',
  async (t) => {
    const { api, images, runtime, events, settle } = setUp(t);
    images.missing.add('nope:1');
    api.add('bad', { nodeName, image: 'nope:1' });
    await t.rejects(settle('bad'), BackOffError, 'a failed pull is an error for the queue');
    t.equal(get(api, 'bad').status?.reason, 'ErrImagePull');
    t.equal(get(api, 'bad').status?.phase, 'Pending');
    t.equal(get(api, 'bad').status?.conditions?.find((x) => x.type === 'Pulled')?.status, 'False');
    t.ok(events.seen.some((e) => e.startsWith('bad Warning Failed') && e.includes('nope')));

    await t.rejects(settle('bad'), BackOffError);
    t.equal(get(api, 'bad').status?.reason, 'ImagePullBackOff', 'the next failure shows the back-off');
    t.match(get(api, 'bad').status?.message, /Back-off pulling image "nope:1"/);
    const writes = api.writes.length;
    await t.rejects(settle('bad'), BackOffError);
    t.equal(api.writes.length, writes, 'failing the same way again writes nothing (so no watch event retriggers it)');
    t.equal(images.pulls, 3, 'one pull per reconcile');
    t.equal(runtime.host.containers.size, 0);

    api.editSpec('bad', { image: 'busybox:1' });
    await settle('bad');
    t.equal(get(api, 'bad').status?.phase, 'Running');
    t.equal(get(api, 'bad').status?.reason, undefined, 'the pull error is cleared');
  },
);

t.test(
  'a command that does not exist: CreateContainerError, backed off by the queue, or Failed for good with Never',
  async (t) => {
    const { api, settle } = setUp(t);
    api.add('again', { nodeName, command: ['/no/such/binary'] });
    await t.rejects(settle('again'), BackOffError);
    t.equal(get(api, 'again').status?.reason, 'CreateContainerError');
    api.add('never', { nodeName, command: ['/no/such/binary'], restartPolicy: 'Never' });
    t.same(await settle('never'), {}, 'nothing to retry');
    t.equal(get(api, 'never').status?.phase, 'Failed');
    t.equal(get(api, 'never').status?.reason, 'CreateContainerError');
  },
);

t.test(
  'a container that vanished (no process, no monitor, no exit status) is an Error exit, restarted by policy',
  async (t) => {
    const { api, runtime, settle } = setUp(t);
    const c = api.add('lost', { nodeName, restartPolicy: 'Never' });
    await settle('lost');
    runtime.vanish(c.metadata.uid ?? '');
    await settle('lost');
    t.equal(get(api, 'lost').status?.phase, 'Failed');
    t.equal(get(api, 'lost').status?.reason, 'Error');
    t.equal(get(api, 'lost').status?.exitCode, 255);
  },
);

t.test('a failed start leaves no exit watch behind: the retry watches the new container afresh', async (t) => {
  const { api, runtime, watched, settle } = setUp(t);
  const c = api.add('flaky', { nodeName, command: ['sleep', '3600'] });
  const uid = c.metadata.uid ?? '';
  runtime.failNext('start', new RuntimeError('RuntimeFailed', 'starting failed'));
  await t.rejects(settle('flaky'), BackOffError);
  t.notOk(watched.has(uid), 'the removed container is not watched');
  await settle('flaky');
  t.equal(get(api, 'flaky').status?.phase, 'Running');
  t.ok(watched.has(uid), 'the new container is watched');
});

t.test(
  'a name server that cannot listen on the gateway is a network error in status, and nothing half-made stays',
  async (t) => {
    const detached: string[] = [];
    // 192.0.2.1 (TEST-NET-1) is no address of this host: binding it fails as a gateway held elsewhere would.
    const networks: Networks = {
      sandbox: async (id) => `/run/fake-netns/${id}`,
      attach: async (id) => ({
        id,
        netns: `/run/fake-netns/${id}`,
        addresses: [{ network: 'berth', ip: '192.0.2.2', gateway: '192.0.2.1', interface: 'eth0' }],
        ports: [],
      }),
      get: async () => undefined,
      detach: async (id) => void detached.push(id),
      list: async () => [],
      networks: async () => [],
      removeNetwork: async () => true,
    };
    const dns = new NetworkDns(() => undefined);
    t.teardown(() => dns.close());
    const { api, runtime, reconciler } = setUpReconciler(t, {
      networking: {
        networks,
        defaultNetwork: { name: 'berth', bridge: 'berth-test0', subnet: '192.0.2.0/24' },
        resolve: async () => undefined,
        dns,
      },
    });
    const c = api.add('dns', { nodeName, command: ['sleep', '3600'] });
    const uid = c.metadata.uid ?? '';
    // One pass adds the finalizer and goes on to the start.
    await t.rejects(reconciler.reconcile(ctx, req('dns')), BackOffError);
    t.equal(get(api, 'dns').status?.reason, 'NameServerFailed');
    t.match(get(api, 'dns').status?.message, /192\.0\.2\.1/);
    t.ok(detached.includes(uid), 'the attachment is undone');
    await t.rejects(runtime.state(uid), { code: 'ContainerNotFound' }, 'the created container is removed');
  },
);
