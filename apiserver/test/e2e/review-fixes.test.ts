// Bugs found in review, each driven through the real API server: a terminating object may not gain finalizers
// (Kubernetes' ValidateNoNewFinalizers), since one added then could hold it forever; a Container's grace period
// too long for a timestamp (asked for, or its spec's) is a deletion far ahead, never a 500 that keeps it forever;
// the garbage collector's identity may drop finalizers and owner references of RBAC objects whose rules it does not
// hold (Kubernetes' IsOnlyMutatingGCFields), else an Orphan or Foreground delete of a binding never finishes.
import t from 'tap';
import { request, startTestServer } from '@berth/testkit';

interface Obj {
  metadata: { name: string; finalizers?: string[]; deletionTimestamp?: string; resourceVersion?: string };
}

const json = (body: unknown, contentType = 'application/json') => ({ body: JSON.stringify(body), contentType });
const cmPath = (name = '') => `/api/v1/namespaces/default/configmaps${name === '' ? '' : `/${name}`}`;
const ctrPath = (name = '') => `/apis/berth.dev/v1alpha1/namespaces/default/containers${name === '' ? '' : `/${name}`}`;

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

t.test('a grace period past any timestamp deletes a Container, far ahead', async (t) => {
  const container = (name: string, terminationGracePeriodSeconds: number, finalizers: string[]) => ({
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: { name, finalizers },
    spec: { image: 'busybox', nodeName: 'n1', terminationGracePeriodSeconds },
  });
  for (const c of [container('asked', 30, []), container('spec', 99_999_999_999_999, ['example.com/hold'])]) {
    const res = await request(ts, 'POST', ctrPath(), json(c));
    t.equal(res.status, 201, res.text);
  }

  let res = await request(ts, 'DELETE', `${ctrPath('asked')}?gracePeriodSeconds=99999999999999`);
  t.equal(res.status, 200, `a huge grace period asked for: ${res.text}`);
  t.equal((await request(ts, 'GET', ctrPath('asked'))).status, 404, 'nothing holds it: gone');

  res = await request(ts, 'DELETE', ctrPath('spec'));
  t.equal(res.status, 200, `a huge grace period in the spec: ${res.text}`);
  const meta = res.json<Obj & { metadata: { deletionGracePeriodSeconds?: number } }>().metadata;
  // RFC 3339 as Go parses it: a four-digit year (JavaScript writes later years as +0YYYYY).
  t.match(meta.deletionTimestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'a timestamp clients can read');
  t.ok(Date.parse(meta.deletionTimestamp ?? '') > Date.now() + 100 * 365 * 86_400_000, 'far in the future');
  t.ok(
    Date.parse(meta.deletionTimestamp ?? '') - Date.now() <= (meta.deletionGracePeriodSeconds ?? 0) * 1000,
    'no later than the grace period recorded',
  );

  res = await request(ts, 'DELETE', `${ctrPath('spec')}?gracePeriodSeconds=5`);
  t.equal(res.status, 200, `a shorter grace period still shortens it: ${res.text}`);
  const shortened = res.json<Obj>().metadata.deletionTimestamp ?? '';
  t.ok(Date.parse(shortened) <= Date.now() + 6_000, `deletion in 5 s: ${shortened}`);
  res = await request(
    ts,
    'PATCH',
    ctrPath('spec'),
    json({ metadata: { finalizers: null } }, 'application/merge-patch+json'),
  );
  t.equal(res.status, 200, res.text);
});

t.test('RBAC objects: changing only finalizers and owner references is no escalation', async (t) => {
  const rbac = '/apis/rbac.authorization.k8s.io/v1';
  // Rules the controller manager does not hold: creating apps/deployments.
  let res = await request(
    ts,
    'POST',
    `${rbac}/clusterroles`,
    json({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'review-deployer' },
      rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['create'] }],
    }),
  );
  t.equal(res.status, 201, res.text);
  const binding = `${rbac}/namespaces/default/rolebindings/review-deployers`;
  res = await request(
    ts,
    'POST',
    `${rbac}/namespaces/default/rolebindings`,
    json({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'review-deployers', finalizers: ['orphan'] },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'review-deployer' },
      subjects: [{ kind: 'User', name: 'dora', apiGroup: 'rbac.authorization.k8s.io' }],
    }),
  );
  t.equal(res.status, 201, res.text);
  res = await request(ts, 'DELETE', binding);
  t.ok(res.json<Obj>().metadata.deletionTimestamp, 'terminating, held by the orphan finalizer');

  const kubeconfig = await ts.userKubeconfig('system:kube-controller-manager');
  const asControllerManager = (patch: unknown) =>
    ts.kubectl([
      '--kubeconfig',
      kubeconfig,
      'patch',
      'rolebinding',
      'review-deployers',
      '--type=merge',
      '-p',
      JSON.stringify(patch),
    ]);
  let out = await asControllerManager({ subjects: [{ kind: 'User', name: 'cm-friend' }] });
  t.not(out.code, 0, 'granting the role to someone else is still refused');
  t.match(out.stderr, /attempting to grant RBAC permissions not currently held/);
  out = await asControllerManager({ metadata: { finalizers: null } });
  t.equal(out.code, 0, `the orphan finalizer is removed as the garbage collector removes it: ${out.stderr}`);
  t.equal((await request(ts, 'GET', binding)).status, 404, 'and the binding is gone');
});
