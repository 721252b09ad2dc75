// A Container applied through the real API server becomes a real container (crun + conmon, overlayfs, cgroups) and
// reports back: status through /status, Events kubectl describe shows, the Node and its Lease. Needs root.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { CoreV1Api, CoordinationV1Api } from '@kubernetes/client-node';
import t from 'tap';
import type { NodeStatus } from '../../src/node/node-info.js';
import { cgroupsPathFor } from '../../src/runtime/oci-spec.js';
import { setUpCluster } from './harness.js';

const cluster = await setUpCluster(t);
const phases = await cluster.watchPhases();
t.teardown(() => phases.stop());
const agent = await cluster.startAgent();
const core = cluster.kc.makeApiClient(CoreV1Api);

const isRunning = (c: { status?: { phase?: string } }) => c.status?.phase === 'Running';

/** The lowerdir option of an overlay mounted at `rootfs`, from /proc/self/mountinfo. */
async function lowerdirOf(rootfs: string): Promise<string | undefined> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const line = info.split('\n').find((l) => l.split(' ')[4] === rootfs);
  return line === undefined ? undefined : /lowerdir=([^,]+)/.exec(line)?.[1];
}

t.test('the Node is registered with capacity, runtime versions and endpoint, and its Lease is renewed', async (t) => {
  // Read as JSON, not through client-node's typed V1Node, which drops berth's extension fields.
  const raw = await cluster.server.kubectl(['get', '--raw', `/api/v1/nodes/${cluster.nodeName}`]);
  const node = JSON.parse(raw.stdout) as { apiVersion: string; status?: NodeStatus };
  t.equal(node.apiVersion, 'v1', 'the Node is a v1 Node');
  t.match(node.status?.capacity?.cpu, /^\d+$/);
  t.match(node.status?.capacity?.memory, /^\d+Ki$/);
  t.match(node.status?.nodeInfo?.containerRuntimeVersion, /^(crun|runc):\/\/\d/);
  t.match(node.status?.nodeInfo?.monitorVersion, /^conmon:\/\/\d/);
  t.equal(node.status?.daemonEndpoints?.agentEndpoint?.address, `unix:${path.join(cluster.root, 'agent.sock')}`);
  t.same(
    node.status?.addresses?.find((a) => a.type === 'InternalIP'),
    { type: 'InternalIP', address: '127.0.0.1' },
  );
  t.equal(node.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  const lease = await cluster.kc
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ namespace: 'kube-node-lease', name: cluster.nodeName });
  t.equal(lease.spec?.holderIdentity, cluster.nodeName);
  t.equal(lease.spec?.leaseDurationSeconds, 40);
  // client-node hands MicroTime back as the string it got.
  const renewed = new Date(String(lease.spec?.renewTime as unknown));
  t.ok(Date.now() - renewed.getTime() < 60_000, `renewed recently (${String(lease.spec?.renewTime as unknown)})`);
  const get = await cluster.server.kubectl(['get', 'nodes', cluster.nodeName]);
  t.match(
    get.stdout,
    new RegExp(`${cluster.nodeName}\\s+Ready\\s+<none>\\s+\\S+\\s+v\\d`),
    'kubectl shows it Ready, with ROLES, AGE and VERSION',
  );
});

t.test(
  'a busybox Container with command, env and memory limit: Pulling → Running, limit in its cgroup, Events, output',
  async (t) => {
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'greetings' }, data: { greeting: 'hello' } },
    });
    await core.createNamespacedSecret({
      namespace: 'default',
      body: { metadata: { name: 'creds' }, stringData: { password: 's3cret' } },
    });
    await cluster.create('web', {
      command: ['sh', '-c', 'echo "$GREETING $WHO $PASSWORD $(id -u)"; echo data > /tmp/written; exec sleep 3600'],
      env: [
        { name: 'WHO', value: 'world' },
        { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'greetings', key: 'greeting' } } },
        { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
      ],
      resources: { limits: { memory: '64Mi', cpu: '500m', pids: 100 } },
      // sleep as pid 1 ignores SIGTERM: the delete below waits out this grace period, then SIGKILLs.
      terminationGracePeriodSeconds: 2,
    });
    const c = await cluster.waitFor('web', isRunning);
    t.equal(c.status?.phase, 'Running');
    t.equal(c.spec.nodeName, cluster.nodeName, 'the unbound Container was taken by this node');
    t.ok(c.metadata.finalizers?.includes('berth.dev/node-agent'), 'deletion waits for the agent');
    t.equal(c.status?.containerID, c.metadata.uid);
    t.ok((c.status?.pid ?? 0) > 1, 'pid reported');
    t.equal(c.status?.restartCount, 0);
    t.match(c.status?.imageID, /@sha256:[0-9a-f]{64}$/);
    for (const type of ['Scheduled', 'Pulled', 'Running', 'Ready'])
      t.equal(c.status?.conditions?.find((x) => x.type === type)?.status, 'True', `${type} True`);
    t.same(phases.phases('web'), ['Pulling', 'Running'], 'a watch saw Pulling then Running');
    t.equal(agent.lookup('default', 'web'), c.metadata.uid, 'lookup gives the runtime id');

    const id = c.metadata.uid ?? '';
    const limit = await readFile(
      path.join('/sys/fs/cgroup/memory', cgroupsPathFor(id), 'memory.limit_in_bytes'),
      'utf8',
    );
    t.equal(limit.trim(), String(64 * 1024 * 1024), 'memory.limit_in_bytes is the limit');
    const quota = await readFile(
      path.join('/sys/fs/cgroup/cpu,cpuacct', cgroupsPathFor(id), 'cpu.cfs_quota_us'),
      'utf8',
    ).catch(() => '');
    if (quota !== '') t.equal(quota.trim(), '50000', 'half a core');

    let log = '';
    for (let i = 0; i < 50 && !log.includes('hello'); i++) {
      log = await readFile(agent.runtime.logPath(id), 'utf8').catch(() => '');
      await new Promise((r) => setTimeout(r, 50));
    }
    t.match(log, /hello world s3cret 0/, 'env from value, ConfigMap and Secret reached the process');

    await agent.runtime.exec(id, { args: ['true'] }).then((s) => s.exitCode);
    const described = await cluster.server.kubectl(['describe', 'ctr', 'web']);
    for (const reason of ['Pulling', 'Pulled', 'Created', 'Started'])
      t.match(described.stdout, new RegExp(`Normal\\s+${reason}\\s`), `describe shows ${reason}`);
    t.match(described.stdout, /berth-node-agent/);
  },
);

t.test(
  'a file written in the container is gone after delete; a second Container reuses the unpacked layers',
  async (t) => {
    const first = await cluster.waitFor('web', isRunning);
    const id = first.metadata.uid ?? '';
    const rootfs = path.join(cluster.root, 'containers', id, 'rootfs');
    const upper = path.join(cluster.root, 'containers', id, 'upper');
    t.equal(
      (await readFile(path.join(upper, 'tmp', 'written'), 'utf8')).trim(),
      'data',
      'the write landed in its upper dir',
    );
    const lowerFirst = await lowerdirOf(rootfs);

    await cluster.create('second', { command: ['sleep', '3600'] });
    const second = await cluster.waitFor('second', isRunning);
    const lowerSecond = await lowerdirOf(path.join(cluster.root, 'containers', second.metadata.uid ?? '', 'rootfs'));
    t.ok(lowerFirst !== undefined && lowerFirst === lowerSecond, 'both overlays stack the same layer directories');
    t.equal((await readdir(path.join(cluster.root, 'layers', 'sha256'))).length, 1, 'one unpacked layer on disk');
    const events = await core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: `involvedObject.uid=${second.metadata.uid ?? ''}`,
    });
    t.ok(
      events.items.some(
        (e) => e.reason === 'Pulled' && /layers already on this node|already present/.test(e.message ?? ''),
      ),
      'nothing downloaded again',
    );

    const started = Date.now();
    await cluster.remove('web');
    t.ok(
      (await cluster.get('web'))?.metadata.deletionTimestamp !== undefined,
      'the finalizer holds the Container while the agent stops it',
    );
    t.ok(await cluster.waitGone('web', 15_000), 'the Container is gone once the agent let go');
    const took = Date.now() - started;
    t.ok(took >= 1_900 && took < 10_000, `the grace period of 2 s was honoured, then SIGKILL (${took} ms)`);
    await t.rejects(readFile(path.join(upper, 'tmp', 'written')), { code: 'ENOENT' }, 'its writes are gone');
    t.equal(await lowerdirOf(rootfs), undefined, 'its rootfs is unmounted');
    await t.rejects(
      readFile(path.join('/sys/fs/cgroup/memory', cgroupsPathFor(id), 'memory.limit_in_bytes')),
      { code: 'ENOENT' },
      'its cgroup is gone',
    );
    t.equal(agent.lookup('default', 'web'), undefined);
    t.equal((await cluster.get('second'))?.status?.phase, 'Running', 'the other Container is untouched');
    await cluster.remove('second');
  },
);

t.test('a memory hog is OOMKilled', async (t) => {
  await cluster.create('hog', {
    command: ['sh', '-c', 'x=0123456789; while true; do x="$x$x"; done'],
    resources: { limits: { memory: '16Mi' } },
    restartPolicy: 'Never',
  });
  const c = await cluster.waitFor('hog', (x) => x.status?.phase === 'Failed', 30_000);
  t.equal(c.status?.phase, 'Failed');
  t.equal(c.status?.reason, 'OOMKilled');
  t.equal(c.status?.exitCode, 137);
  t.ok(c.status?.finishedAt !== undefined);
  t.equal(c.status?.conditions?.find((x) => x.type === 'Ready')?.status, 'False');
  await cluster.remove('hog');
});

t.test('restartPolicy Always restarts a crashing container with growing back-off', async (t) => {
  await cluster.create('crasher', { command: ['sh', '-c', 'echo crash; exit 3'], restartPolicy: 'Always' });
  const c = await cluster.waitFor('crasher', (x) => (x.status?.restartCount ?? 0) >= 3, 30_000);
  t.ok((c.status?.restartCount ?? 0) >= 3, `restartCount grew to ${c.status?.restartCount ?? 0}`);
  const events = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=crasher` });
  const backoff = events.items.find((e) => e.reason === 'BackOff');
  t.ok(backoff !== undefined && backoff.type === 'Warning', 'a BackOff warning was recorded');
  t.ok(
    (events.items.find((e) => e.reason === 'Started')?.count ?? 0) >= 3,
    'repeated Started events are counted, not duplicated',
  );
  const crashLoop = await cluster.waitFor('crasher', (x) => x.status?.reason === 'CrashLoopBackOff', 10_000);
  t.equal(crashLoop.status?.reason, 'CrashLoopBackOff');
  t.equal(crashLoop.status?.exitCode, 3);

  await cluster.create('once', { command: ['sh', '-c', 'exit 0'], restartPolicy: 'OnFailure' });
  const once = await cluster.waitFor('once', (x) => x.status?.phase === 'Succeeded');
  t.equal(once.status?.reason, 'Completed');
  t.equal(once.status?.restartCount, 0, 'OnFailure does not restart a clean exit');
  await cluster.remove('crasher');
  await cluster.remove('once');
});

t.test('bad input gets a clear status and a Warning, and other Containers are unaffected', async (t) => {
  await cluster.create('steady', { command: ['sleep', '3600'] });
  const steady = await cluster.waitFor('steady', isRunning);

  await cluster.create('bad-image', { image: `${cluster.registryAddress}/library/nope:latest` });
  const bad = await cluster.waitFor(
    'bad-image',
    (x) => x.status?.reason === 'ErrImagePull' || x.status?.reason === 'ImagePullBackOff',
  );
  t.equal(bad.status?.phase, 'Pending');
  t.match(bad.status?.message, /nope/, `message names the image: ${bad.status?.message ?? ''}`);
  t.equal(bad.status?.conditions?.find((x) => x.type === 'Pulled')?.status, 'False');

  await cluster.create('bad-command', { command: ['/no/such/binary'], restartPolicy: 'Never' });
  const badCommand = await cluster.waitFor(
    'bad-command',
    (x) => x.status?.phase === 'Failed' || x.status?.reason === 'CreateContainerError',
  );
  t.equal(badCommand.status?.reason, 'CreateContainerError');
  t.match(badCommand.status?.message, /no\/such\/binary|not found|No such file/);

  await cluster.create('bad-ref', {
    env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'missing', key: 'k' } } }],
    command: ['true'],
  });
  const badRef = await cluster.waitFor('bad-ref', (x) => x.status?.reason === 'CreateContainerConfigError');
  t.match(badRef.status?.message, /secret "missing" not found/);

  await cluster.create('after', { command: ['sleep', '3600'] });
  t.equal(
    (await cluster.waitFor('after', isRunning)).status?.phase,
    'Running',
    'a Container created after the bad ones runs',
  );
  const again = await cluster.get('steady');
  t.equal(again?.status?.pid, steady.status?.pid, 'the running one kept its process');
  const events = await core.listNamespacedEvent({
    namespace: 'default',
    fieldSelector: 'involvedObject.name=bad-image',
  });
  t.ok(
    events.items.some((e) => e.type === 'Warning' && e.reason === 'Failed' && /nope/.test(e.message ?? '')),
    'Warning Failed event',
  );

  // Fixing the spec is picked up: the right image runs.
  await cluster.custom.patchNamespacedCustomObject({
    group: 'berth.dev',
    version: 'v1alpha1',
    namespace: 'default',
    plural: 'containers',
    name: 'bad-image',
    body: [
      { op: 'replace', path: '/spec/image', value: cluster.image },
      { op: 'add', path: '/spec/command', value: ['sleep', '3600'] },
    ],
  });
  const fixed = await cluster.waitFor('bad-image', isRunning, 15_000);
  t.equal(fixed.status?.phase, 'Running', 'a fixed image name runs');
  t.equal(fixed.status?.reason, undefined, 'the pull error is cleared');
});

t.test('the agent rides out an API server restart: its watch comes back and new Containers still run', async (t) => {
  await cluster.server.stop();
  await new Promise((r) => setTimeout(r, 1_000));
  await cluster.server.restart();
  await cluster.create('after-restart', { command: ['sleep', '3600'], terminationGracePeriodSeconds: 0 });
  const c = await cluster.waitFor('after-restart', isRunning, 30_000);
  t.equal(c.status?.phase, 'Running');
  t.equal((await cluster.get('steady'))?.status?.phase, 'Running', 'what ran before still runs');
});

t.test('a changed spec replaces the running container', async (t) => {
  const before = await cluster.waitFor('after-restart', isRunning);
  await cluster.custom.patchNamespacedCustomObject({
    group: 'berth.dev',
    version: 'v1alpha1',
    namespace: 'default',
    plural: 'containers',
    name: 'after-restart',
    body: [{ op: 'replace', path: '/spec/command', value: ['sh', '-c', 'echo v2; exec sleep 3600'] }],
  });
  const after = await cluster.waitFor(
    'after-restart',
    (c) =>
      isRunning(c) && c.status?.pid !== before.status?.pid && c.status?.observedGeneration === c.metadata.generation,
    20_000,
  );
  t.not(after.status?.pid, before.status?.pid, 'a new process');
  t.equal(after.status?.observedGeneration, after.metadata.generation, 'status reflects the new generation');
  let log = '';
  for (let i = 0; i < 40 && !log.includes('v2'); i++) {
    log = await readFile(agent.runtime.logPath(after.metadata.uid ?? ''), 'utf8').catch(() => '');
    await new Promise((r) => setTimeout(r, 50));
  }
  t.match(log, /v2/, 'running the new command');
});
