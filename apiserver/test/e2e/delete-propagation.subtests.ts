// DELETE's options as Kubernetes' registry reads them, with no garbage collector running: the propagation policy
// (and the legacy orphanDependents) becomes the `orphan` or `foregroundDeletion` finalizer, a repeat delete can
// switch it, the two cannot be asked for together; a Container is deleted gracefully (its grace period from the
// delete or its spec, shortened by a later delete) while other kinds get none.
import t from 'tap';
import { request, startTestServer, type TestServer } from '@berth/testkit';

interface Meta {
  name: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  finalizers?: string[];
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
}
interface Obj {
  metadata: Meta;
}

const json = (body: unknown) => ({ body: JSON.stringify(body), contentType: 'application/json' });
const cmPath = (name = '') => `/api/v1/namespaces/default/configmaps${name === '' ? '' : `/${name}`}`;
const ctrPath = (name = '') => `/apis/berth.dev/v1alpha1/namespaces/default/containers${name === '' ? '' : `/${name}`}`;

async function createConfigMap(ts: TestServer, name: string, finalizers: string[] = ['example.com/hold']) {
  const res = await request(
    ts,
    'POST',
    cmPath(),
    json({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, finalizers } }),
  );
  if (res.status !== 201) throw new Error(`create ${name}: ${res.status} ${res.text}`);
  return res.json<Obj>();
}

async function get(ts: TestServer, path: string): Promise<Obj> {
  const res = await request(ts, 'GET', path);
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.text}`);
  return res.json<Obj>();
}

const del = (ts: TestServer, path: string, options?: unknown, query = '') =>
  request(ts, 'DELETE', path + query, options === undefined ? {} : json(options));

t.test('propagation policies', async (t) => {
  const ts = await startTestServer({ controllers: false });
  t.teardown(() => ts.close());

  await createConfigMap(ts, 'fg');
  let res = await del(ts, cmPath('fg'), { propagationPolicy: 'Foreground' });
  t.equal(res.status, 200, 'Foreground answers 200 (202 is only for orphanDependents=false)');
  const obj = res.json<Obj>();
  t.same(obj.metadata.finalizers, ['example.com/hold', 'foregroundDeletion'], 'Foreground adds foregroundDeletion');
  t.ok(obj.metadata.deletionTimestamp, 'terminating');
  t.equal(obj.metadata.deletionGracePeriodSeconds, 0, 'a ConfigMap has no grace period');

  res = await del(ts, cmPath('fg'), { propagationPolicy: 'Orphan' });
  t.same(res.json<Obj>().metadata.finalizers, ['example.com/hold', 'orphan'], 'deleting again with Orphan switches');
  t.equal(res.json<Obj>().metadata.deletionTimestamp, obj.metadata.deletionTimestamp, 'keeping the deletion time');
  const rv = res.json<Obj>().metadata.resourceVersion;
  res = await del(ts, cmPath('fg'), { propagationPolicy: 'Orphan' });
  t.equal(res.json<Obj>().metadata.resourceVersion, rv, 'the same delete again writes nothing');
  res = await del(ts, cmPath('fg'));
  t.same(res.json<Obj>().metadata.finalizers, ['example.com/hold', 'orphan'], 'no policy keeps the finalizer there');
  res = await del(ts, cmPath('fg'), { propagationPolicy: 'Background' });
  t.same(res.json<Obj>().metadata.finalizers, ['example.com/hold'], 'Background removes it');

  await createConfigMap(ts, 'legacy');
  res = await del(ts, cmPath('legacy'), { orphanDependents: false });
  t.equal(res.status, 202, 'orphanDependents=false on an object that stays: 202 Accepted, as Kubernetes');
  t.same(res.json<Obj>().metadata.finalizers, ['example.com/hold']);
  res = await del(ts, cmPath('legacy'), { orphanDependents: true });
  t.same(res.json<Obj>().metadata.finalizers, ['example.com/hold', 'orphan'], 'orphanDependents=true is Orphan');
  res = await del(ts, cmPath('legacy'), undefined, '?propagationPolicy=Foreground');
  t.same(res.json<Obj>().metadata.finalizers, ['example.com/hold', 'foregroundDeletion'], 'the query works too');

  res = await del(ts, cmPath('legacy'), { orphanDependents: true, propagationPolicy: 'Orphan' });
  t.equal(res.status, 422);
  t.match(res.json<{ message: string }>().message, /orphanDependents and deletionPropagation cannot be both set/);
  res = await del(ts, cmPath('legacy'), { propagationPolicy: 'Sideways' });
  t.equal(res.status, 422);
  t.match(
    res.json<{ message: string }>().message,
    'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Sideways": supported values: "Foreground", "Background", "Orphan", "nil"',
  );
  t.equal((await del(ts, cmPath('legacy'), { gracePeriodSeconds: 'x' })).status, 400);
  t.equal((await del(ts, cmPath('legacy'), { orphanDependents: 'yes' })).status, 400);

  // No finalizer of its own: Orphan keeps it for the garbage collector, Background deletes it at once.
  await createConfigMap(ts, 'bare', []);
  res = await del(ts, cmPath('bare'), { propagationPolicy: 'Orphan' });
  t.same(res.json<Obj>().metadata.finalizers, ['orphan'], 'Orphan holds even an object without finalizers');
  await createConfigMap(ts, 'bare2', []);
  res = await del(ts, cmPath('bare2'), { propagationPolicy: 'Background' });
  t.equal(res.json<{ kind: string }>().kind, 'Status', 'Background with nothing to wait for: gone');
  t.equal((await request(ts, 'GET', cmPath('bare2'))).status, 404);

  const both = await request(
    ts,
    'POST',
    cmPath(),
    json({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'both', finalizers: ['orphan', 'foregroundDeletion'] },
    }),
  );
  t.equal(both.status, 422, 'orphan and foregroundDeletion together are invalid');
  t.match(both.json<{ message: string }>().message, /finalizer orphan and foregroundDeletion cannot be both set/);

  res = await del(ts, cmPath('fg'), { propagationPolicy: 'Foreground', dryRun: ['All'] });
  t.same(res.json<Obj>().metadata.finalizers, ['example.com/hold', 'foregroundDeletion'], 'dry run shows the change');
  t.same((await get(ts, cmPath('fg'))).metadata.finalizers, ['example.com/hold'], 'and stores nothing');
});

t.test('graceful deletion of Containers', async (t) => {
  const ts = await startTestServer({ controllers: false });
  t.teardown(() => ts.close());
  const container = (name: string, nodeName?: string) => ({
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: { name, finalizers: ['berth.dev/node-agent'] },
    spec: { image: 'busybox', terminationGracePeriodSeconds: 45, ...(nodeName === undefined ? {} : { nodeName }) },
  });
  for (const c of [container('bound', 'n1'), container('asked', 'n1'), container('unbound')]) {
    const res = await request(ts, 'POST', ctrPath(), json(c));
    t.equal(res.status, 201, res.text);
  }

  const before = Date.now();
  let res = await del(ts, ctrPath('bound'), { propagationPolicy: 'Background' });
  let meta = res.json<Obj>().metadata;
  t.equal(meta.deletionGracePeriodSeconds, 45, "no grace period asked: the spec's");
  const deadline = Date.parse(meta.deletionTimestamp ?? '');
  t.ok(deadline >= before + 44_000 && deadline <= Date.now() + 46_000, 'deletionTimestamp is now + grace');
  t.equal(meta.generation, 2, 'a graceful deletion bumps the generation');

  res = await del(ts, ctrPath('bound'), { gracePeriodSeconds: 60 });
  t.equal(res.json<Obj>().metadata.deletionGracePeriodSeconds, 45, 'a longer grace period does not extend it');
  res = await del(ts, ctrPath('bound'), { gracePeriodSeconds: 5 });
  meta = res.json<Obj>().metadata;
  t.equal(meta.deletionGracePeriodSeconds, 5, 'a shorter one shortens it');
  t.equal(Date.parse(meta.deletionTimestamp ?? ''), deadline - 40_000, 'and moves the deadline back by the difference');

  const asked = await ts.kubectl(['delete', 'containers.berth.dev', 'asked', '--grace-period=7', '--wait=false']);
  t.equal(asked.code, 0, asked.stderr);
  t.equal((await get(ts, ctrPath('asked'))).metadata.deletionGracePeriodSeconds, 7, 'kubectl --grace-period=7');

  res = await del(ts, ctrPath('unbound'), { gracePeriodSeconds: 20 });
  t.equal(res.json<Obj>().metadata.deletionGracePeriodSeconds, 0, 'a Container on no node has nothing to stop');

  const forced = await ts.kubectl([
    'delete',
    'containers.berth.dev',
    'asked',
    '--force',
    '--grace-period=0',
    '--wait=false',
  ]);
  t.equal(forced.code, 0, forced.stderr);
  t.equal((await get(ts, ctrPath('asked'))).metadata.deletionGracePeriodSeconds, 0, '--force --grace-period=0: now');
});
