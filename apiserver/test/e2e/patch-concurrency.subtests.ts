// Patches that name no resourceVersion never fail on a concurrent write: the server applies each to the newest
// object (Kubernetes' patcher retries the same way), so parallel writers all land; one that names a stale
// resourceVersion is still a 409. kubectl patch sends no resourceVersion and so must never see a Conflict because
// a controller wrote the object a moment before.
import t from 'tap';
import { request, startTestServer } from '@berth/testkit';

const ts = await startTestServer({ controllers: false });
t.teardown(() => ts.close());
const path = '/api/v1/namespaces/default/configmaps';
const created = await request(ts, 'POST', path, {
  body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'many' }, data: {} }),
  contentType: 'application/json',
});
t.equal(created.status, 201);
const rv0 = created.json<{ metadata: { resourceVersion: string } }>().metadata.resourceVersion;

t.test('30 parallel merge patches, 10 JSON patches and 10 scale-like patches all land', async (t) => {
  const merges = Array.from({ length: 30 }, (_, i) =>
    request(ts, 'PATCH', `${path}/many`, {
      body: JSON.stringify({ data: { [`m${i}`]: String(i) } }),
      contentType: 'application/merge-patch+json',
    }),
  );
  const jsons = Array.from({ length: 10 }, (_, i) =>
    request(ts, 'PATCH', `${path}/many`, {
      body: JSON.stringify([{ op: 'add', path: `/metadata/labels`, value: { [`j${i}`]: 'x' } }]),
      contentType: 'application/json-patch+json',
    }),
  );
  const answers = await Promise.all([...merges, ...jsons]);
  t.same(
    answers.map((a) => a.status),
    answers.map(() => 200),
    'no 409',
  );
  const cm = (await request(ts, 'GET', `${path}/many`)).json<{ data: Record<string, string> }>();
  t.equal(Object.keys(cm.data).length, 30, 'every merge patch is in');
});

t.test('a patch naming a stale resourceVersion is still refused', async (t) => {
  const stale = await request(ts, 'PATCH', `${path}/many`, {
    body: JSON.stringify({ metadata: { resourceVersion: rv0 }, data: { late: 'x' } }),
    contentType: 'application/merge-patch+json',
  });
  t.equal(stale.status, 409);
  t.match(stale.json(), { reason: 'Conflict' });
});
