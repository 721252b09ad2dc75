// Bugs found in review, each driven through the real API server: a terminating object may not gain finalizers
// (Kubernetes' ValidateNoNewFinalizers), since one added then could hold it forever; a Container's grace period
// too long for a timestamp (asked for, or its spec's) is a deletion far ahead, never a 500 that keeps it forever;
// the garbage collector's identity may drop finalizers and owner references of RBAC objects whose rules it does not
// hold (Kubernetes' IsOnlyMutatingGCFields), else an Orphan or Foreground delete of a binding never finishes; an
// eviction's body must be an Eviction of that Pod; Pod annotations of the wrong type are refused; a terminating
// Container is never bound; access reviews of the wrong shape are 400/422 as Kubernetes answers them; a quota
// without a counted status refuses what it counts.
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

const podPath = (name = '') => `/api/v1/namespaces/default/pods${name === '' ? '' : `/${name}`}`;
const pod = (name: string, containerName = name) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { containers: [{ name: containerName, image: 'busybox' }] },
});

t.test('an eviction must be a policy/v1 Eviction of that Pod, else 400', async (t) => {
  t.equal((await request(ts, 'POST', podPath(), json(pod('evictee')))).status, 201);
  const evict = (body: unknown) => request(ts, 'POST', `${podPath('evictee')}/eviction`, json(body));
  const cases: [unknown, string][] = [
    [{}, "Object 'Kind' is missing in '{}'"],
    [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'evictee' } },
      'the API version in the data (v1) does not match the expected API version (policy/v1)',
    ],
    [
      { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'evictee' } },
      'not a Eviction object: *policy.PodDisruptionBudget',
    ],
    [
      { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'someone-else' } },
      'name in URL does not match name in Eviction object',
    ],
    [
      { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'evictee', namespace: 'kube-system' } },
      'the namespace of the provided object does not match the namespace sent on the request',
    ],
  ];
  for (const [body, message] of cases) {
    const res = await evict(body);
    t.equal(res.status, 400, res.text);
    t.match(res.json(), { kind: 'Status', reason: 'BadRequest', message });
  }
  t.equal((await request(ts, 'GET', podPath('evictee'))).status, 200, 'nothing was evicted');
  const res = await evict({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'evictee' } });
  t.equal(res.status, 201, res.text);
  t.equal((await request(ts, 'GET', podPath('evictee'))).status, 404, 'an Eviction evicts');
});

t.test('Pod annotations of the wrong type are refused, not turned into an object', async (t) => {
  // A container named apart from its Pod keeps that name in an annotation the write path merges back.
  t.equal((await request(ts, 'POST', podPath(), json(pod('annotated', 'inner')))).status, 201);
  for (const [type, patch] of [
    ['application/merge-patch+json', { metadata: { annotations: 'str' } }],
    ['application/json-patch+json', [{ op: 'add', path: '/metadata/annotations', value: ['a', 'b'] }]],
  ] as const) {
    const res = await request(ts, 'PATCH', podPath('annotated'), json(patch, type));
    t.equal(res.status, 422, res.text);
    t.match(res.json(), { reason: 'Invalid', message: /^Pod "annotated" is invalid: metadata\.annotations: / });
  }
  const c = await request(ts, 'GET', ctrPath('annotated'));
  t.same(c.json<{ metadata: { annotations?: unknown } }>().metadata.annotations, {
    'berth.dev/pod-container-name': 'inner',
  });
});

t.test('a terminating unbound Container gets no node through its main path either', async (t) => {
  let res = await request(
    ts,
    'POST',
    ctrPath(),
    json({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Container',
      metadata: { name: 'leaving', finalizers: ['example.com/hold'] },
      spec: { image: 'busybox' },
    }),
  );
  t.equal(res.status, 201, res.text);
  res = await request(ts, 'DELETE', ctrPath('leaving'));
  t.ok(res.json<Obj>().metadata.deletionTimestamp, 'terminating, held by its finalizer');
  res = await request(
    ts,
    'PATCH',
    ctrPath('leaving'),
    json({ spec: { nodeName: 'n1' } }, 'application/merge-patch+json'),
  );
  t.equal(res.status, 422, res.text);
  t.match(res.json(), {
    message: /spec\.nodeName: Invalid value: "n1": may not be set once the container is being deleted/,
  });
  res = await request(
    ts,
    'POST',
    `${ctrPath('leaving')}/binding`,
    json({ apiVersion: 'v1', kind: 'Binding', metadata: { name: 'leaving' }, target: { kind: 'Node', name: 'n1' } }),
  );
  t.equal(res.status, 409, `and the binding subresource refuses it too: ${res.text}`);
  res = await request(
    ts,
    'PATCH',
    ctrPath('leaving'),
    json({ metadata: { finalizers: null } }, 'application/merge-patch+json'),
  );
  t.equal(res.status, 200, res.text);
});

t.test('access reviews of the wrong shape are refused as Kubernetes refuses them', async (t) => {
  const review = (kind: string, spec: unknown, path = '/apis/authorization.k8s.io/v1/') =>
    request(ts, 'POST', `${path}${kind.toLowerCase()}s`, json({ apiVersion: 'authorization.k8s.io/v1', kind, spec }));
  const bad: [string, unknown, string][] = [
    [
      'SelfSubjectAccessReview',
      'nope',
      'cannot unmarshal string into Go struct field SelfSubjectAccessReview.spec of type v1.SelfSubjectAccessReviewSpec',
    ],
    [
      'SelfSubjectAccessReview',
      { resourceAttributes: { verb: 7 } },
      'cannot unmarshal number into Go struct field ResourceAttributes.spec.resourceAttributes.verb of type string',
    ],
    [
      'SubjectAccessReview',
      { user: 'u', groups: 'g', nonResourceAttributes: { path: '/x', verb: 'get' } },
      'cannot unmarshal string into Go struct field SubjectAccessReviewSpec.spec.groups of type []string',
    ],
    [
      'SelfSubjectRulesReview',
      { namespace: ['default'] },
      'cannot unmarshal array into Go struct field SelfSubjectRulesReviewSpec.spec.namespace of type string',
    ],
  ];
  for (const [kind, spec, message] of bad) {
    const res = await review(kind, spec);
    t.equal(res.status, 400, res.text);
    t.match(res.json(), {
      reason: 'BadRequest',
      message: `${kind} in version "v1" cannot be handled as a ${kind}: json: ${message}`,
    });
  }
  const both = await review('SubjectAccessReview', {
    resourceAttributes: { verb: 'get', resource: 'pods' },
    nonResourceAttributes: { path: '/x', verb: 'get' },
  });
  t.equal(both.status, 422, both.text);
  t.match(both.json(), {
    reason: 'Invalid',
    message:
      'SubjectAccessReview.authorization.k8s.io "" is invalid: [spec.nonResourceAttributes: Invalid value: {"path":"/x","verb":"get"}: cannot be specified in combination with resourceAttributes, spec.user: Invalid value: "": at least one of user or group must be specified]',
    details: { causes: [{ field: 'spec.nonResourceAttributes' }, { field: 'spec.user' }] },
  });
  const local = await review(
    'LocalSubjectAccessReview',
    { user: 'u', resourceAttributes: { verb: 'get', resource: 'pods', namespace: 'other' } },
    '/apis/authorization.k8s.io/v1/namespaces/default/',
  );
  t.equal(local.status, 422, local.text);
  t.match(local.json(), { details: { causes: [{ field: 'spec.resourceAttributes.namespace' }] } });
  const named = await request(
    ts,
    'POST',
    '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    json({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      metadata: { name: 'kept' },
      spec: { resourceAttributes: { verb: 'get', resource: 'pods' } },
    }),
  );
  t.equal(named.status, 422, named.text);
  t.match(named.json(), { details: { causes: [{ field: 'metadata', message: /must be empty/ }] } });
  const fine = await review('SubjectAccessReview', {
    groups: ['system:masters'],
    resourceAttributes: { verb: 'get', resource: 'pods' },
  });
  t.equal(fine.status, 201, fine.text);
  t.match(fine.json(), { status: { allowed: true } });
});

t.test('a quota no controller has counted yet refuses what it counts, as Kubernetes does', async (t) => {
  // This server runs no controllers: the quota's status stays empty.
  const ns = '/api/v1/namespaces/review-quota';
  t.equal(
    (
      await request(
        ts,
        'POST',
        '/api/v1/namespaces',
        json({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'review-quota' } }),
      )
    ).status,
    201,
  );
  const quota = {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: { name: 'uncounted' },
    spec: { hard: { secrets: 5 } },
  };
  t.equal((await request(ts, 'POST', `${ns}/resourcequotas`, json(quota))).status, 201);
  const res = await request(
    ts,
    'POST',
    `${ns}/secrets`,
    json({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { k: 'v' } }),
  );
  t.equal(res.status, 403, res.text);
  t.match(res.json(), { message: 'secrets "s" is forbidden: status unknown for quota: uncounted, resources: secrets' });
  const other = await request(
    ts,
    'POST',
    `${ns}/configmaps`,
    json({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }),
  );
  t.equal(other.status, 201, 'what it does not count is not held back');
});
