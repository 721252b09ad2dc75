// Volumes through the real agent: a Volume's data outlives its Containers, readOnly mounts refuse writes, emptyDirs
// (disk and tmpfs) go with their Container, a subPath symlink out of its volume is refused, a Volume in use waits
// for its Containers before it is deleted, and create/delete cycles leave no mounts behind. Real crun; needs root.
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import t, { type Test } from 'tap';
import type { Container, Volume } from '@berth/api';
import { runCommand } from '../../src/host/run-command.js';
import { mountPoints } from '../../src/volumes/local.js';
import { volumeFinalizer } from '../../src/volumes/volume-reconciler.js';
import { setUpCluster } from './harness.js';

const cluster = await setUpCluster(t);
// The node's admin allows hostPath volumes under one directory only.
const shared = path.join(cluster.root, 'shared');
let agent = await cluster.startAgent({ hostPathPrefixes: [shared] });
const core = cluster.kc.makeApiClient(CoreV1Api);
const group = 'berth.dev';
const version = 'v1alpha1';

async function createVolume(name: string, spec: Record<string, unknown> = {}): Promise<Volume> {
  return (await cluster.custom.createNamespacedCustomObject({
    group,
    version,
    namespace: 'default',
    plural: 'volumes',
    body: { apiVersion: `${group}/${version}`, kind: 'Volume', metadata: { name }, spec },
  })) as Volume;
}

async function getVolume(name: string): Promise<Volume | undefined> {
  try {
    return (await cluster.custom.getNamespacedCustomObject({
      group,
      version,
      namespace: 'default',
      plural: 'volumes',
      name,
    })) as Volume;
  } catch (err) {
    if ((err as { code?: unknown }).code === 404) return undefined;
    throw err;
  }
}

async function waitVolume(
  name: string,
  pred: (v: Volume | undefined) => boolean,
  timeoutMs = 20_000,
): Promise<Volume | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await getVolume(name);
    if (pred(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const deleteVolume = (name: string) =>
  cluster.custom.deleteNamespacedCustomObject({ group, version, namespace: 'default', plural: 'volumes', name });

/** A Container mounting Volume `volume` at /data (and whatever else `extra` adds). */
const withVolume = (
  volume: string,
  command: string,
  mount: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
) => ({
  command: ['sh', '-c', command],
  restartPolicy: 'Never',
  volumes: [{ name: 'd', volumeRef: { name: volume } }],
  volumeMounts: [{ name: 'd', mountPath: '/data', ...mount }],
  ...extra,
});

const done = (c: Container) => c.status?.phase === 'Succeeded' || c.status?.phase === 'Failed';

async function logOf(c: Container): Promise<string> {
  return readFile(agent.runtime.logPath(c.metadata.uid ?? ''), 'utf8').catch(() => '');
}

/** Mount points under the agent's data root (the agent's own mounts: snapshots, volumes, emptyDirs). */
const mountsUnderRoot = async () => (await mountPoints()).filter((m) => m.startsWith(`${cluster.root}/`));

async function removeAndWait(tt: Test, name: string): Promise<void> {
  await cluster.remove(name);
  tt.ok(await cluster.waitGone(name), `${name} is gone`);
}

t.test('a Volume written by one Container is read by the next one after the first is deleted', async (t) => {
  await createVolume('data');
  await cluster.create('writer', withVolume('data', 'echo persisted > /data/f'));
  const w = await cluster.waitFor('writer', done, 30_000);
  t.equal(w.status?.phase, 'Succeeded', `the writer ran: ${w.status?.message ?? ''}`);
  await removeAndWait(t, 'writer');

  const v = await waitVolume('data', (x) => x?.status?.phase === 'Available' && (x.status.usedBy ?? []).length === 0);
  t.equal(v?.status?.phase, 'Available');
  t.equal(v?.status?.nodeName, cluster.nodeName);
  t.equal(v?.status?.path, path.join(cluster.root, 'volumes', 'default', 'data', '_data'));
  t.ok(v?.metadata.finalizers?.includes(volumeFinalizer), 'the Volume is protected by its finalizer');
  t.equal(
    await readFile(path.join(v?.status?.path ?? '', 'f'), 'utf8'),
    'persisted\n',
    'the data is on the node after its writer is gone',
  );

  await cluster.create('reader', withVolume('data', 'cat /data/f'));
  const r = await cluster.waitFor('reader', done, 30_000);
  t.equal(r.status?.phase, 'Succeeded');
  t.match(await logOf(r), /persisted/, 'the next Container read what the first wrote');
  await removeAndWait(t, 'reader');
});

t.test('a readOnly mount refuses writes', async (t) => {
  await cluster.create('ro', withVolume('data', 'cat /data/f && echo x > /data/g', { readOnly: true }));
  const c = await cluster.waitFor('ro', done, 30_000);
  t.equal(c.status?.phase, 'Failed');
  t.not(c.status?.exitCode, 0);
  t.match(await logOf(c), /Read-only file system/);
  await t.rejects(stat(path.join(cluster.root, 'volumes', 'default', 'data', '_data', 'g')), 'nothing was written');
  await removeAndWait(t, 'ro');
});

t.test('emptyDirs (disk, and a tmpfs with its sizeLimit) go with their Container', async (t) => {
  await cluster.create('scratch', {
    terminationGracePeriodSeconds: 1,
    command: [
      'sh',
      '-c',
      'echo a > /scratch/a; dd if=/dev/zero of=/mem/big bs=1024 count=2048 2>/dev/null; echo "dd=$?"; exec sleep 3600',
    ],
    volumes: [
      { name: 'scratch', emptyDir: {} },
      { name: 'mem', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
    ],
    volumeMounts: [
      { name: 'scratch', mountPath: '/scratch' },
      { name: 'mem', mountPath: '/mem' },
    ],
  });
  const c = await cluster.waitFor('scratch', (x) => x.status?.phase === 'Running', 30_000);
  const dir = path.join(cluster.root, 'container-volumes', c.metadata.uid ?? '');
  let log = '';
  for (let i = 0; i < 100 && !log.includes('dd='); i++) {
    log = await logOf(c);
    await new Promise((r) => setTimeout(r, 50));
  }
  t.match(log, /dd=1/, 'writing 2Mi into a 1Mi tmpfs fails');
  t.equal(await readFile(path.join(dir, 'scratch', 'a'), 'utf8'), 'a\n', 'the disk emptyDir is under the data root');
  t.ok((await mountPoints()).includes(path.join(dir, 'mem')), 'the memory emptyDir is a tmpfs mount');
  await removeAndWait(t, 'scratch');
  await t.rejects(stat(dir), 'the emptyDirs are gone with their Container');
  t.notOk((await mountPoints()).includes(path.join(dir, 'mem')), 'the tmpfs is unmounted');
});

t.test('an emptyDir and a subPath bind survive a restart of their container', async (t) => {
  await cluster.create('restarter', {
    terminationGracePeriodSeconds: 1,
    restartPolicy: 'OnFailure',
    command: [
      'sh',
      '-c',
      'echo run >> /scratch/runs; echo run >> /data/runs; [ "$(wc -l < /scratch/runs)" -ge 2 ] && exec sleep 3600; exit 1',
    ],
    volumes: [
      { name: 'scratch', emptyDir: {} },
      { name: 'd', volumeRef: { name: 'data' } },
    ],
    volumeMounts: [
      { name: 'scratch', mountPath: '/scratch' },
      { name: 'd', mountPath: '/data', subPath: 'restarter' },
    ],
  });
  const c = await cluster.waitFor(
    'restarter',
    (x) => x.status?.phase === 'Running' && (x.status.restartCount ?? 0) >= 1 && x.status.reason !== 'CrashLoopBackOff',
    30_000,
  );
  t.equal(c.status?.restartCount, 1, 'it failed once, then found its first run in the emptyDir');
  t.equal(
    await readFile(path.join(cluster.root, 'container-volumes', c.metadata.uid ?? '', 'scratch', 'runs'), 'utf8'),
    'run\nrun\n',
  );
  t.equal(
    await readFile(path.join(cluster.root, 'volumes', 'default', 'data', '_data', 'restarter', 'runs'), 'utf8'),
    'run\nrun\n',
    'the subPath was bound again for the second run',
  );
  await removeAndWait(t, 'restarter');
});

t.test(
  'a subPath with ".." is a 422; a symlink out of the volume is refused with a reason and a Warning Event',
  async (t) => {
    const err = await cluster.create('dotdot', withVolume('data', 'true', { subPath: '../../etc' })).then(
      () => undefined,
      (e: unknown) => e as { code?: number; body?: unknown },
    );
    t.equal(err?.code, 422, 'the API refuses ".." in subPath');
    t.match(String(err?.body), /subPath/);

    const two = await cluster
      .create('two-sources', {
        command: ['true'],
        volumes: [{ name: 'd', volumeRef: { name: 'data' }, emptyDir: {} }],
        volumeMounts: [{ name: 'd', mountPath: '/d' }],
      })
      .then(
        () => undefined,
        (e: unknown) => e as { code?: number; body?: unknown },
      );
    t.equal(two?.code, 422, 'a volume with two sources is refused by the CRD rule');
    t.match(String(two?.body), /exactly one of volumeRef, emptyDir/);
    const none = await cluster.create('no-source', { command: ['true'], volumes: [{ name: 'd' }] }).then(
      () => undefined,
      (e: unknown) => e as { code?: number },
    );
    t.equal(none?.code, 422, 'and one with none');

    await createVolume('esc');
    // Inside the container /etc is its own; on the node the same link leads to the node's /etc.
    await cluster.create('linker', withVolume('esc', 'ln -s /etc /data/link && mkdir /data/ok'));
    t.equal((await cluster.waitFor('linker', done, 30_000)).status?.phase, 'Succeeded');
    await removeAndWait(t, 'linker');

    await cluster.create('escaper', withVolume('esc', 'cat /data/passwd', { subPath: 'link' }));
    const c = await cluster.waitFor('escaper', (x) => x.status?.reason === 'CreateContainerConfigError', 30_000);
    t.equal(c.status?.reason, 'CreateContainerConfigError');
    t.match(c.status?.message, /subPath "link".*outside its volume/);
    const events = await core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: `involvedObject.name=escaper`,
    });
    t.ok(
      events.items.some((e) => e.type === 'Warning' && /outside its volume/.test(e.message ?? '')),
      'a Warning Event says why',
    );
    t.same(
      await agent.runtime.list().then((l) => l.filter((s) => s.id === c.metadata.uid)),
      [],
      'no container was made',
    );
    await removeAndWait(t, 'escaper');

    await cluster.create('inside', withVolume('esc', 'ls -d /data', { subPath: 'ok' }));
    const inside = await cluster.waitFor('inside', done, 30_000);
    t.equal(inside.status?.phase, 'Succeeded', 'a subPath inside the volume mounts');
    const bound = path.join(cluster.root, 'container-volumes', inside.metadata.uid ?? '', '..subpaths', '0');
    t.ok(
      (await mountPoints()).includes(bound),
      'the checked directory itself is bind-mounted for crun (not its path, which could be swapped)',
    );
    await removeAndWait(t, 'inside');
    t.notOk((await mountPoints()).includes(bound), 'the subPath bind goes with its Container');
  },
);

t.test('a missing Volume is a CreateContainerConfigError naming it, retried until the Volume exists', async (t) => {
  await cluster.create('early', withVolume('late', 'echo ok > /data/ok'));
  const c = await cluster.waitFor('early', (x) => x.status?.reason === 'CreateContainerConfigError', 30_000);
  t.match(c.status?.message, /volume "late" not found/);
  const events = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=early` });
  t.ok(
    events.items.some((e) => e.type === 'Warning' && /volume "late" not found/.test(e.message ?? '')),
    'a Warning Event names the volume',
  );
  await createVolume('late');
  t.equal(
    (await cluster.waitFor('early', done, 30_000)).status?.phase,
    'Succeeded',
    'the queue retried once the Volume existed',
  );
  await removeAndWait(t, 'early');
});

t.test('a Volume bound to another node is refused with a reason naming the node', async (t) => {
  await createVolume('elsewhere', { nodeName: 'some-other-node' });
  await cluster.create('wrong-node', withVolume('elsewhere', 'true'));
  const c = await cluster.waitFor('wrong-node', (x) => x.status?.reason === 'CreateContainerConfigError', 30_000);
  t.match(c.status?.message, /volume "elsewhere" is bound to node "some-other-node"/);
  await t.rejects(stat(path.join(cluster.root, 'volumes', 'default', 'elsewhere')), 'nothing was made for it here');
  t.notOk(
    (await getVolume('elsewhere'))?.metadata.finalizers?.includes(volumeFinalizer),
    "this node leaves another node's Volume alone",
  );
  await removeAndWait(t, 'wrong-node');
});

t.test('per-container volumes left by a container whose Container is gone are swept, tmpfs and all', async (t) => {
  const orphan = path.join(cluster.root, 'container-volumes', 'orphan-0123', 'mem');
  // Orphans are left by what happened while no agent ran (a teardown cut short, a Container deleted for good): the
  // agent sweeps before its first start after it comes up, so this one is made while it is down.
  await agent.close();
  await mkdir(orphan, { recursive: true });
  const mounted = await runCommand('mount', ['-t', 'tmpfs', 'tmpfs', orphan]);
  t.equal(mounted.code, 0, mounted.stderr);
  agent = await cluster.startAgent({ hostPathPrefixes: [shared] });
  await cluster.create('sweeper', { command: ['true'], restartPolicy: 'Never' });
  await cluster.waitFor('sweeper', done, 30_000);
  t.notOk((await mountPoints()).includes(orphan), 'the orphan tmpfs is unmounted');
  await t.rejects(stat(path.dirname(orphan)), 'and its directory removed');
  await removeAndWait(t, 'sweeper');
});

t.test('hostPath volumes mount only under the directories the node allows', async (t) => {
  await cluster.create('host-ok', {
    command: ['sh', '-c', 'echo from-container > /host/f'],
    restartPolicy: 'Never',
    volumes: [{ name: 'h', hostPath: { path: path.join(shared, 'app'), type: 'DirectoryOrCreate' } }],
    volumeMounts: [{ name: 'h', mountPath: '/host' }],
  });
  t.equal((await cluster.waitFor('host-ok', done, 30_000)).status?.phase, 'Succeeded');
  t.equal(
    await readFile(path.join(shared, 'app', 'f'), 'utf8'),
    'from-container\n',
    'the write landed in the host directory',
  );
  await removeAndWait(t, 'host-ok');

  await cluster.create('host-etc', {
    command: ['cat', '/host/passwd'],
    restartPolicy: 'Never',
    volumes: [{ name: 'h', hostPath: { path: '/etc' } }],
    volumeMounts: [{ name: 'h', mountPath: '/host' }],
  });
  const c = await cluster.waitFor('host-etc', (x) => x.status?.reason === 'CreateContainerConfigError', 30_000);
  t.match(c.status?.message, /hostPath "\/etc" is not under a directory this node allows/);
  await removeAndWait(t, 'host-etc');
});

t.test(
  'deleting a Volume in use waits (Terminating) until its Container is deleted; reclaimPolicy decides the data',
  async (t) => {
    await createVolume('busy');
    await createVolume('kept', { reclaimPolicy: 'Retain' });
    await cluster.create('user', {
      terminationGracePeriodSeconds: 1,
      command: ['sh', '-c', 'echo x > /a/x; echo y > /b/y; exec sleep 3600'],
      volumes: [
        { name: 'a', volumeRef: { name: 'busy' } },
        { name: 'b', volumeRef: { name: 'kept' } },
      ],
      volumeMounts: [
        { name: 'a', mountPath: '/a' },
        { name: 'b', mountPath: '/b' },
      ],
    });
    await cluster.waitFor('user', (x) => x.status?.phase === 'Running', 30_000);
    const busyDir = path.join(cluster.root, 'volumes', 'default', 'busy', '_data');
    const keptDir = path.join(cluster.root, 'volumes', 'default', 'kept', '_data');
    t.same(
      (await waitVolume('busy', (v) => (v?.status?.usedBy ?? []).length > 0))?.status?.usedBy,
      ['user'],
      'status names its user',
    );
    const wide = await cluster.server.kubectl(['get', 'vol', 'busy', '-o', 'wide']);
    t.match(
      wide.stdout,
      new RegExp(`busy\\s+local\\s+Available\\s+${cluster.nodeName}[\\s\\S]*user`),
      `kubectl get -o wide shows node and users:\n${wide.stdout}`,
    );

    await deleteVolume('busy');
    await deleteVolume('kept');
    const waiting = await waitVolume('busy', (v) => /deletion waits/.test(v?.status?.message ?? ''));
    t.ok(waiting?.metadata.deletionTimestamp, 'the Volume is Terminating');
    t.ok(waiting?.metadata.finalizers?.includes(volumeFinalizer), 'held by its finalizer');
    t.match(waiting?.status?.message, /used by user/);
    t.equal(await readFile(path.join(busyDir, 'x'), 'utf8'), 'x\n', 'its data is untouched while in use');
    const refused = await cluster.create('newcomer', withVolume('busy', 'true'));
    t.match(
      (await cluster.waitFor('newcomer', (x) => x.status?.reason === 'CreateContainerConfigError', 30_000)).status
        ?.message,
      /being deleted/,
      'a Volume being deleted is not mounted again',
    );
    await removeAndWait(t, refused.metadata.name ?? '');

    await removeAndWait(t, 'user');
    t.equal(await waitVolume('busy', (v) => v === undefined), undefined, 'the Volume goes once unused');
    t.equal(await waitVolume('kept', (v) => v === undefined), undefined);
    await t.rejects(stat(busyDir), 'reclaimPolicy Delete removed the data');
    t.equal(await readFile(path.join(keptDir, 'y'), 'utf8'), 'y\n', 'reclaimPolicy Retain kept it');
  },
);

/** stdout of `args` run in container `id`, and its exit code. */
async function execOut(id: string, args: string[]): Promise<{ out: string; code: number }> {
  const session = await agent.runtime.exec(id, { args });
  const chunks: Buffer[] = [];
  session.stdout.on('data', (b: Buffer) => chunks.push(b));
  session.stderr.on('data', (b: Buffer) => chunks.push(b));
  const code = await session.exitCode;
  await session.close();
  return { out: Buffer.concat(chunks).toString('utf8'), code };
}

t.test('ConfigMap and Secret volumes are read-only files, updated atomically when the object changes', async (t) => {
  await core.createNamespacedConfigMap({
    namespace: 'default',
    body: { metadata: { name: 'site' }, data: { 'index.html': 'v1', other: 'o' } },
  });
  const binary = Buffer.from([0xff, 0x00, 0xfe, 0x80]);
  await core.createNamespacedSecret({
    namespace: 'default',
    body: {
      metadata: { name: 'token' },
      data: { password: Buffer.from('s3cret').toString('base64'), bin: binary.toString('base64') },
    },
  });
  await cluster.create('projected', {
    terminationGracePeriodSeconds: 1,
    command: ['sleep', '3600'],
    volumes: [
      { name: 'config', configMap: { name: 'site' } },
      { name: 'secret', secret: { secretName: 'token', defaultMode: 0o400 } },
    ],
    volumeMounts: [
      { name: 'config', mountPath: '/config' },
      { name: 'secret', mountPath: '/secret' },
    ],
  });
  const c = await cluster.waitFor('projected', (x) => x.status?.phase === 'Running', 30_000);
  const id = c.metadata.uid ?? '';
  t.same(await execOut(id, ['cat', '/config/index.html', '/secret/password']), { out: 'v1s3cret', code: 0 });
  t.match((await execOut(id, ['stat', '-L', '-c', '%a', '/secret/password'])).out, /^400/, 'defaultMode applies');
  t.match(
    (await execOut(id, ['readlink', '/config/..data'])).out,
    /^\.\.\d{4}-/,
    '..data points at a timestamped version',
  );
  const write = await execOut(id, ['sh', '-c', 'echo x > /config/new']);
  t.not(write.code, 0, 'the files are read-only');
  t.match(write.out, /Read-only file system/);
  const dir = path.join(cluster.root, 'container-volumes', id);
  t.ok((await mountPoints()).includes(path.join(dir, 'secret')), "the Secret's files are on a tmpfs, not the disk");
  t.same(await readFile(path.join(dir, 'secret', 'bin')), binary, 'a binary key is written as its bytes');

  await core.replaceNamespacedConfigMap({
    name: 'site',
    namespace: 'default',
    body: { metadata: { name: 'site' }, data: { 'index.html': 'v2', added: 'a' } },
  });
  let seen = '';
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && seen !== 'v2a') {
    seen = (await execOut(id, ['sh', '-c', 'cat /config/index.html /config/added 2>/dev/null'])).out;
    if (seen !== 'v2a') await new Promise((r) => setTimeout(r, 100));
  }
  t.equal(seen, 'v2a', 'the running container sees the new data');
  t.equal(
    (await execOut(id, ['ls', '/config'])).out
      .split('\n')
      .filter((l) => l !== '')
      .sort()
      .join(','),
    'added,index.html',
    'a removed key is gone',
  );

  await removeAndWait(t, 'projected');
  await t.rejects(stat(dir), 'the projected volumes go with their Container');
  t.notOk((await mountPoints()).includes(path.join(dir, 'secret')), 'the tmpfs is unmounted');
});

t.test(
  'create/delete cycles with a Volume, a subPath and emptyDirs leave no mounts and no emptyDirs behind',
  async (t) => {
    await createVolume('cycle');
    await cluster.create('warm', withVolume('cycle', 'true'));
    await cluster.waitFor('warm', done, 30_000);
    await removeAndWait(t, 'warm');
    const before = await mountsUnderRoot();
    // 10 by default on this shared machine; the 100: BERTH_VOLUME_CYCLES=100.
    const cycles = Number(process.env['BERTH_VOLUME_CYCLES'] ?? 10);
    for (let i = 0; i < cycles; i++) {
      const name = `cycle-${i}`;
      await cluster.create(name, {
        command: ['sh', '-c', 'echo $HOSTNAME >> /data/log; echo ok > /mem/ok'],
        restartPolicy: 'Never',
        volumes: [
          { name: 'd', volumeRef: { name: 'cycle' } },
          { name: 'mem', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
          { name: 'disk', emptyDir: {} },
        ],
        volumeMounts: [
          { name: 'd', mountPath: '/data', subPath: 'sub' },
          { name: 'mem', mountPath: '/mem' },
          { name: 'disk', mountPath: '/disk' },
        ],
      });
      t.equal((await cluster.waitFor(name, done, 30_000)).status?.phase, 'Succeeded');
      await cluster.remove(name);
      t.ok(await cluster.waitGone(name));
    }
    t.same(await mountsUnderRoot(), before, `mounts under the data root after ${cycles} cycles equal those before`);
    t.same(await readdir(path.join(cluster.root, 'container-volumes')), [], 'no emptyDir is left');
    const log = await readFile(path.join(cluster.root, 'volumes', 'default', 'cycle', '_data', 'sub', 'log'), 'utf8');
    t.equal(log.trim().split('\n').length, cycles, 'every cycle wrote to the same Volume');
  },
);

t.test("an empty Volume mounted over image content gets a copy of it first (Docker's copy-up), once", async (t) => {
  await createVolume('seeded');
  const at = (script: string) => ({
    command: ['sh', '-c', script],
    restartPolicy: 'Never',
    volumes: [{ name: 'etc', volumeRef: { name: 'seeded' } }],
    volumeMounts: [{ name: 'etc', mountPath: '/etc' }],
  });
  await cluster.create('seed-1', at('cat /etc/passwd && rm /etc/group && echo mine > /etc/mine'));
  const first = await cluster.waitFor('seed-1', done, 30_000);
  t.equal(first.status?.phase, 'Succeeded', `ran: ${first.status?.message ?? ''}`);
  t.match(
    await logOf(first),
    / root:x:0:0:root:\/root:\/bin\/sh$/m,
    "the image's /etc/passwd, seen through the Volume",
  );
  const data = path.join(cluster.root, 'volumes', 'default', 'seeded', '_data');
  t.match(await readFile(path.join(data, 'passwd'), 'utf8'), /^root:x:0:0/, 'copied into the Volume on the node');
  await removeAndWait(t, 'seed-1');
  // Not empty any more: no second copy brings back what the first Container removed.
  await cluster.create('seed-2', at('test ! -e /etc/group && cat /etc/mine'));
  const second = await cluster.waitFor('seed-2', done, 30_000);
  t.equal(second.status?.phase, 'Succeeded', 'group stays removed: a Volume with data is never copied into');
  t.match(await logOf(second), /mine/);
  await removeAndWait(t, 'seed-2');
  await deleteVolume('seeded');
});

t.test(
  'a Volume with a capacity is a filesystem of that size: writing more fails; deleting it unmounts it',
  async (t) => {
    await createVolume('small', { capacity: '4Mi' });
    const data = path.join(cluster.root, 'volumes', 'default', 'small', '_data');
    await cluster.create(
      'filler',
      withVolume(
        'small',
        'ls -A /data; dd if=/dev/zero of=/data/big bs=1024 count=8192 2>&1; echo "dd=$?"; df -k /data | tail -n 1',
      ),
    );
    const c = await cluster.waitFor('filler', done, 30_000);
    const log = await logOf(c);
    t.match(log, /No space left on device/, '8 MiB do not fit in 4 MiB');
    t.comment(log);
    t.match(log, /dd=1/);
    t.notMatch(log, /lost\+found/, 'an empty Volume looks empty');
    t.ok((await mountPoints()).includes(data), 'its filesystem is mounted on the node');
    const size = (await stat(path.join(data, 'big'))).size;
    t.ok(size < 4 * 1024 * 1024, `what was written stops below the capacity (${size} bytes)`);
    await removeAndWait(t, 'filler');
    await deleteVolume('small');
    t.equal(await waitVolume('small', (v) => v === undefined), undefined, 'deleted');
    t.notOk((await mountPoints()).includes(data), 'unmounted with it');
    const { stdout } = await runCommand('losetup', ['-l', '-n', '-O', 'BACK-FILE']);
    t.notMatch(stdout, /small\/disk\.img/, 'and no loop device is left');
  },
);

t.test(
  'hostUsers: false: root inside is a range of its own on the node, kept across restarts; image and volumes work',
  async (t) => {
    await createVolume('userns-data');
    await cluster.create('userns', {
      hostUsers: false,
      terminationGracePeriodSeconds: 1,
      restartPolicy: 'OnFailure',
      command: [
        'sh',
        '-c',
        [
          'cat /proc/self/uid_map >> /data/maps',
          'echo "uid=$(id -u) gid=$(id -g) busybox=$(stat -c %u /bin/busybox)" > /data/ids',
          'touch /written-to-rootfs && echo e > /scratch/e',
          '[ "$(wc -l < /data/maps)" -ge 2 ] && exec sleep 3600; exit 1',
        ].join('; '),
      ],
      volumes: [
        { name: 'scratch', emptyDir: {} },
        { name: 'd', volumeRef: { name: 'userns-data' } },
      ],
      volumeMounts: [
        { name: 'scratch', mountPath: '/scratch' },
        { name: 'd', mountPath: '/data' },
      ],
    });
    const c = await cluster.waitFor(
      'userns',
      (x) =>
        x.status?.phase === 'Running' && (x.status.restartCount ?? 0) >= 1 && x.status.reason !== 'CrashLoopBackOff',
      30_000,
    );
    const uid = c.metadata.uid ?? '';
    const range = JSON.parse(await readFile(path.join(cluster.root, 'userns-ranges', uid), 'utf8')) as {
      hostId: number;
    };
    const data = path.join(cluster.root, 'volumes', 'default', 'userns-data', '_data');
    const maps = (await readFile(path.join(data, 'maps'), 'utf8')).split('\n').filter((l) => l !== '');
    t.equal(maps.length, 2, 'it ran twice');
    for (const line of maps)
      t.match(line, new RegExp(`^\\s*0\\s+${range.hostId}\\s+65536$`), 'uid_map shows the range');
    t.equal(maps[0], maps[1], 'the restart kept the range');
    t.equal(
      await readFile(path.join(data, 'ids'), 'utf8'),
      'uid=0 gid=0 busybox=0\n',
      "root inside, and the image's files are root's (its layers are idmapped)",
    );
    const status = await readFile(`/proc/${c.status?.pid}/status`, 'utf8');
    t.match(status, new RegExp(`^Uid:\\t${range.hostId}\\t`, 'm'), `on the node it runs as ${range.hostId}`);
    t.equal((await stat(path.join(data, 'maps'))).uid, 0, "the Volume's files stay the node root's: no chown");
    const scratch = path.join(cluster.root, 'container-volumes', uid, 'scratch', 'e');
    t.equal((await stat(scratch)).uid, 0, 'so do the emptyDir');
    t.equal(
      (await stat(path.join(cluster.root, 'containers', uid, 'upper', 'written-to-rootfs'))).uid,
      range.hostId,
      'the writable layer takes the range ids',
    );
    await removeAndWait(t, 'userns');
    t.equal(await readFile(path.join(data, 'ids'), 'utf8'), 'uid=0 gid=0 busybox=0\n', 'the Volume kept its data');
    await t.rejects(stat(path.join(cluster.root, 'userns-ranges', uid)), 'the range was given back');
    t.same(
      (await mountsUnderRoot()).filter((m) => m.includes('userns-mounts')),
      [],
      'no idmapped mount is left',
    );
    await deleteVolume('userns-data');
  },
);
