// ResourceQuota object counts as a namespace admin meets them: a v1 ResourceQuota with `count/<resource>.<group>`
// and the core short forms gets its status.used from the quota controller; a create past a limit is a 403 worded
// as Kubernetes' quota admission words it (a Pod's as a Pod's); concurrent creates cannot share the last slot;
// deleting an object frees its slot again.
import t from 'tap';
import { eventually, request, startTestServer } from '@berth/testkit';

const server = await startTestServer({ controllers: ['resourcequota'] });
t.teardown(() => server.close());
const ns = 'quota-ns';
const json = (body: unknown) => ({ body: JSON.stringify(body), contentType: 'application/json' });
const container = (name: string) => ({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'Container',
  metadata: { name, namespace: ns },
  spec: { image: 'busybox' },
});
const containers = `/apis/berth.dev/v1alpha1/namespaces/${ns}/containers`;
const configMaps = `/api/v1/namespaces/${ns}/configmaps`;
interface Quota {
  status?: { hard?: Record<string, string>; used?: Record<string, string> };
}
const used = async () =>
  (await request(server, 'GET', `/api/v1/namespaces/${ns}/resourcequotas/q`)).json<Quota>().status?.used ?? {};

t.before(async () => {
  const made = await server.kubectl(['create', 'namespace', ns]);
  if (made.code !== 0) throw new Error(made.stderr);
});

t.test('the controller fills status; a create past the limit is refused as Kubernetes words it', async (t) => {
  const quota = await server.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'q', namespace: ns },
      spec: { hard: { 'count/containers.berth.dev': '2', configmaps: 1 } },
    }),
  });
  t.equal(quota.code, 0, quota.stderr);
  t.ok(
    await eventually(async () => (await used())['count/containers.berth.dev'] === '0', 10_000),
    'status.used is counted',
  );
  const q = (await request(server, 'GET', `/api/v1/namespaces/${ns}/resourcequotas/q`)).json<Quota>();
  t.same(q.status, {
    hard: { 'count/containers.berth.dev': '2', configmaps: '1' },
    used: { 'count/containers.berth.dev': '0', configmaps: '0' },
  });
  for (const name of ['c1', 'c2']) {
    const r = await request(server, 'POST', containers, json(container(name)));
    t.equal(r.status, 201, `${name}: ${r.text}`);
  }
  t.equal((await used())['count/containers.berth.dev'], '2', 'admission charged each create');
  const refused = await server.kubectl(['apply', '-f', '-'], { input: JSON.stringify(container('c3')) });
  t.not(refused.code, 0);
  t.match(
    refused.stderr,
    'Error from server (Forbidden): error when creating "STDIN": containers.berth.dev "c3" is forbidden: exceeded quota: q, requested: count/containers.berth.dev=1, used: count/containers.berth.dev=2, limited: count/containers.berth.dev=2',
  );
  const pod = await request(
    server,
    'POST',
    `/api/v1/namespaces/${ns}/pods`,
    json({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'p', image: 'busybox' }] },
    }),
  );
  t.equal(pod.status, 403, 'a Pod is a Container, counted alike');
  t.match(pod.json(), { reason: 'Forbidden', message: /^pods "p" is forbidden: exceeded quota: q, / });
  const list = await server.kubectl(['get', 'quota', '-n', ns, '-o', 'name']);
  t.equal(list.stdout.trim(), 'resourcequota/q', 'kubectl knows the short name');
});

t.test('concurrent creates cannot share the last slot', async (t) => {
  const answers = await Promise.all(
    [1, 2, 3, 4, 5].map((i) =>
      request(server, 'POST', configMaps, json({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm${i}` } })),
    ),
  );
  t.same(answers.map((a) => a.status).sort(), [201, 403, 403, 403, 403], answers.map((a) => a.text).join('\n'));
  t.equal((await used())['configmaps'], '1');
});

t.test('a delete frees its slot once the controller recounts', async (t) => {
  t.equal((await request(server, 'DELETE', `${containers}/c1`)).status, 200);
  t.ok(await eventually(async () => (await used())['count/containers.berth.dev'] === '1', 10_000), 'released');
  t.equal((await request(server, 'POST', containers, json(container('c3')))).status, 201);
});
