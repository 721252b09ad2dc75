// Leader election on a real API server's coordination.k8s.io/v1 Lease: of two candidates one leads; when it
// closes it releases the Lease and the other takes over at once; a holder that stops renewing loses the Lease
// only after its duration, judged by the taker's own clock.
import net from 'node:net';
import t from 'tap';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { ApiClient, LeaderElector, Manager, newControllerManagedBy, type LeaderElectionOptions } from '../src/index.js';
import { configMap, configMaps, eventually, leases, startApi } from './harness.js';

interface Lease extends KubernetesObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

const fast = { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 100 };

function candidate(client: ApiClient, identity: string, extra: Partial<LeaderElectionOptions> = {}) {
  const log: string[] = [];
  let signal: AbortSignal | undefined;
  const elector = new LeaderElector({
    client,
    namespace: 'default',
    name: 'test-controller',
    identity,
    ...fast,
    onStartedLeading: (s) => {
      signal = s;
      log.push('started');
    },
    onStoppedLeading: () => void log.push('stopped'),
    ...extra,
  });
  return { elector, log, signal: () => signal };
}

t.test('two candidates: one leads; when it closes the other takes over', async (t) => {
  const api = await startApi(t);
  const clientA = new ApiClient({ kubeconfig: api.kc, userAgent: 'candidate-a' });
  const clientB = new ApiClient({ kubeconfig: api.kc, userAgent: 'candidate-b' });
  t.teardown(() => {
    clientA.close();
    clientB.close();
  });
  const a = candidate(clientA, 'a');
  const b = candidate(clientB, 'b');
  t.teardown(() => Promise.all([a.elector.close(), b.elector.close()]));
  a.elector.start();
  t.ok(await eventually(() => a.elector.isLeader), 'a leads');
  b.elector.start();
  const readLease = () => api.client.get<Lease>(leases, 'default', 'test-controller');
  const first = await readLease();
  t.match(first.spec, { holderIdentity: 'a', leaseDurationSeconds: 2, leaseTransitions: 0 });
  t.ok(first.spec?.acquireTime !== undefined && first.spec.renewTime !== undefined);

  // While a keeps renewing (renewTime moves twice), b sees a as leader and does not lead.
  const renewals = new Set<string>([first.spec?.renewTime ?? '']);
  t.ok(
    await eventually(async () => {
      renewals.add((await readLease()).spec?.renewTime ?? '');
      return renewals.size >= 3;
    }),
    'a renews',
  );
  t.equal(b.elector.leader, 'a', 'b observed the holder');
  t.equal(b.elector.isLeader, false, 'b never led beside a');
  t.same(b.log, []);

  const closedAt = Date.now();
  await a.elector.close();
  t.same(a.log, ['started', 'stopped']);
  t.equal(a.signal()?.aborted, true, "a's leading signal aborted");
  t.ok(await eventually(() => b.elector.isLeader), 'b takes over');
  t.ok(
    Date.now() - closedAt < fast.leaseDurationMs,
    `without waiting out the lease (${Date.now() - closedAt} ms): a released it`,
  );
  const after = await readLease();
  t.match(after.spec, { holderIdentity: 'b', leaseTransitions: 1 });
  t.not(after.spec?.acquireTime, first.spec?.acquireTime, 'acquireTime is the takeover time');
});

t.test('a Lease whose holder stopped renewing is taken only after its duration', async (t) => {
  const api = await startApi(t);
  const old = new Date(Date.now() - 3_600_000).toISOString().replace('Z', '000Z');
  await api.client.create<Lease>(leases, {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'test-controller', namespace: 'default' },
    // renewTime an hour ago: by the other machine's clock it looks long expired, but that clock is not trusted.
    spec: { holderIdentity: 'ghost', leaseDurationSeconds: 1, acquireTime: old, renewTime: old, leaseTransitions: 4 },
  } as Lease);
  const client = new ApiClient({ kubeconfig: api.kc });
  t.teardown(() => client.close());
  const c = candidate(client, 'c');
  t.teardown(() => c.elector.close());
  const started = Date.now();
  c.elector.start();
  t.ok(await eventually(() => c.elector.isLeader), 'c takes the abandoned lease');
  t.ok(Date.now() - started >= 1_000, `after watching it unrenewed for its duration (${Date.now() - started} ms)`);
  t.match((await api.client.get<Lease>(leases, 'default', 'test-controller')).spec, {
    holderIdentity: 'c',
    leaseTransitions: 5,
  });
});

t.test('a manager with leader election runs its controllers only while it leads', async (t) => {
  const api = await startApi(t);
  const reconciledBy: string[] = [];
  const managers: Manager[] = [];
  for (const identity of ['m1', 'm2']) {
    const mgr = new Manager({
      kubeconfig: api.kc,
      userAgent: `manager-${identity}`,
      leaderElection: { namespace: 'default', name: 'managers', identity, ...fast },
    });
    t.teardown(() => mgr.close());
    await newControllerManagedBy(mgr)
      .for({ apiVersion: 'v1', kind: 'ConfigMap' })
      .complete(async (_ctx, req) => void reconciledBy.push(`${identity} ${req.name}`));
    managers.push(mgr);
  }
  const [m1, m2] = managers as [Manager, Manager];
  await m1.start();
  await m1.elected;
  await m2.start();
  t.ok(m1.isLeader && !m2.isLeader, 'the first to start leads');
  t.ok(m2.cache.hasSynced, "the follower's caches are warm all the same");
  await api.client.create(configMaps, configMap('one'));
  t.ok(await eventually(() => reconciledBy.includes('m1 one')));
  t.notOk(
    reconciledBy.some((r) => r.startsWith('m2')),
    'the follower reconciles nothing',
  );
  await m1.close();
  await m2.elected;
  t.ok(m2.isLeader, 'the follower leads once the leader closes');
  t.ok(await eventually(() => reconciledBy.includes('m2 one')), 'and its controller starts on the existing objects');
});

t.test('timings that cannot work are refused at construction', async (t) => {
  const api = await startApi(t);
  const base = {
    client: api.client,
    namespace: 'default',
    name: 'x',
    identity: 'i',
    onStartedLeading: () => undefined,
  };
  for (const bad of [
    { leaseDurationMs: 1000, renewDeadlineMs: 1000 },
    { renewDeadlineMs: 500, retryPeriodMs: 500 },
    { retryPeriodMs: 0 },
    { identity: '' },
  ]) {
    t.throws(
      () => new LeaderElector({ ...base, ...bad }),
      { name: 'InvalidOptionError', code: 'BERTH_CONTROLLER_INVALID_OPTION' },
      JSON.stringify(bad),
    );
  }
});

t.test('a leader whose renewals hang on a stalled connection stops leading at its renew deadline', async (t) => {
  const api = await startApi(t);
  // A TCP relay in front of the API server that, once stalled, forwards nothing: requests hang, never fail.
  let stalled = false;
  const sockets = new Set<net.Socket>();
  const target = new URL(api.kc.getCurrentCluster()?.server ?? '');
  const relay = net.createServer((down) => {
    const up = net.connect(Number(target.port), target.hostname);
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('error', () => undefined);
    }
    down.on('data', (d) => void (stalled || up.write(d)));
    up.on('data', (d) => void (stalled || down.write(d)));
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    relay.close();
  });
  const kc = new KubeConfig();
  const cluster = api.kc.getCurrentCluster()!;
  kc.loadFromOptions({
    clusters: [{ ...cluster, server: `https://127.0.0.1:${(relay.address() as net.AddressInfo).port}` }],
    users: api.kc.users,
    contexts: api.kc.contexts,
    currentContext: api.kc.currentContext,
  });
  const client = new ApiClient({ kubeconfig: kc, userAgent: 'candidate-stalled' });
  t.teardown(() => client.close());
  const a = candidate(client, 'a');
  t.teardown(() => a.elector.close());
  a.elector.start();
  t.ok(await eventually(() => a.elector.isLeader), 'a leads through the relay');
  stalled = true;
  const stalledAt = Date.now();
  t.ok(await eventually(() => !a.elector.isLeader, 5_000), 'a stops leading although no renewal ever answered');
  t.ok(
    Date.now() - stalledAt < fast.leaseDurationMs,
    `before the lease expires for others (${Date.now() - stalledAt} ms)`,
  );
  t.same(a.log, ['started', 'stopped']);
  t.equal(a.signal()?.aborted, true);
});

t.test('a runnable failing to start once elected closes the manager instead of rejecting unobserved', async (t) => {
  const api = await startApi(t);
  const rejections: unknown[] = [];
  const onRejection = (err: unknown) => void rejections.push(err);
  process.on('unhandledRejection', onRejection);
  t.teardown(() => void process.off('unhandledRejection', onRejection));
  const mgr = new Manager({
    kubeconfig: api.kc,
    userAgent: 'manager-failing',
    leaderElection: { namespace: 'default', name: 'failing', identity: 'f', ...fast },
  });
  t.teardown(() => mgr.close());
  let stopped = false;
  await mgr.add({
    start: () => Promise.reject(new Error('cannot start')),
    stop: async () => void (stopped = true),
  });
  await mgr.start();
  await mgr.elected;
  t.ok(await eventually(() => stopped), 'the manager closed (and stopped what it had started)');
  t.ok(
    await eventually(
      async () => (await api.client.get<Lease>(leases, 'default', 'failing')).spec?.holderIdentity === '',
    ),
    'and released the Lease',
  );
  t.same(rejections, [], 'no unhandled rejection');
  // What a supervisor (berth up's controller thread) waits on to start the controllers again.
  const closedSeen = await Promise.race([mgr.closed.then(() => true), eventually(() => false, 2_000)]);
  t.ok(closedSeen, 'manager.closed resolved though nobody called close()');
});
