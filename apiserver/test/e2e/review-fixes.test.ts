// Bugs found in review, each driven through the real API server: a terminating object may not gain finalizers
// (Kubernetes' ValidateNoNewFinalizers), since one added then could hold it forever.
import t from 'tap';
import { request, startTestServer } from '@berth/testkit';

interface Obj {
  metadata: { name: string; finalizers?: string[]; deletionTimestamp?: string; resourceVersion?: string };
}

const json = (body: unknown, contentType = 'application/json') => ({ body: JSON.stringify(body), contentType });
const cmPath = (name = '') => `/api/v1/namespaces/default/configmaps${name === '' ? '' : `/${name}`}`;

const ts = await startTestServer({ controllers: false });
t.teardown(() => ts.close());

t.test('a terminating object gains no finalizers', async (t) => {
  let res = await request(
    ts,
    'POST',
    cmPath(),
    json({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', finalizers: ['example.com/hold'] } }),
  );
  t.equal(res.status, 201, res.text);
  res = await request(ts, 'DELETE', cmPath('held'));
  t.ok(res.json<Obj>().metadata.deletionTimestamp, 'terminating, held by its finalizer');

  res = await request(
    ts,
    'PATCH',
    cmPath('held'),
    json({ metadata: { finalizers: ['example.com/hold', 'example.com/forever'] } }, 'application/merge-patch+json'),
  );
  t.equal(res.status, 422, `adding a finalizer is refused: ${res.text}`);
  t.match(res.text, /no new finalizers can be added if the object is being deleted/);
  t.match(res.text, /example\.com\/forever/);

  res = await request(
    ts,
    'PATCH',
    cmPath('held'),
    json({ metadata: { labels: { still: 'writable' } } }, 'application/merge-patch+json'),
  );
  t.equal(res.status, 200, `other metadata still changes: ${res.text}`);

  res = await request(
    ts,
    'PATCH',
    cmPath('held'),
    json({ metadata: { finalizers: null } }, 'application/merge-patch+json'),
  );
  t.equal(res.status, 200, `removing the finalizer is allowed: ${res.text}`);
  res = await request(ts, 'GET', cmPath('held'));
  t.equal(res.status, 404, 'and the object is gone');
});

t.test('a finalizer may still be added to an object not being deleted', async (t) => {
  let res = await request(
    ts,
    'POST',
    cmPath(),
    json({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'live' } }),
  );
  t.equal(res.status, 201, res.text);
  res = await request(
    ts,
    'PATCH',
    cmPath('live'),
    json({ metadata: { finalizers: ['example.com/hold'] } }, 'application/merge-patch+json'),
  );
  t.equal(res.status, 200, res.text);
  t.same(res.json<Obj>().metadata.finalizers, ['example.com/hold']);
  res = await request(
    ts,
    'PATCH',
    cmPath('live'),
    json({ metadata: { finalizers: null } }, 'application/merge-patch+json'),
  );
  t.equal(res.status, 200, res.text);
});
