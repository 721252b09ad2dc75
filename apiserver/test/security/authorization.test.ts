// Authorization beyond plain RBAC, on one server: a node's credential as Kubernetes' Node authorizer and
// NodeRestriction bound it (it reads the Secrets and ConfigMaps of Containers bound to it and no others, no list,
// no watch; writes its own Node and Lease and the status of its own Containers; is refused another node's in
// Kubernetes' words), and aggregated ClusterRoles as kubectl shows them (view, edit and admin carry the rules their
// aggregationRule selects, admin ⊇ edit ⊇ view; a ClusterRole labelled aggregate-to-view joins them and leaves
// when deleted).
import t from 'tap';
import { eventually, request, startTestServer } from '@berth/testkit';

const server = await startTestServer({ controllers: false });
t.teardown(() => server.close());
const n1 = await server.userKubeconfig('system:node:n1', { groups: ['system:nodes'] });
const asNode = (args: string[], input?: string) =>
  server.kubectl(args, { env: { KUBECONFIG: n1 }, ...(input === undefined ? {} : { input }) });

const container = (name: string, node: string, secret: string, configMap: string) => ({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'Container',
  metadata: { name, namespace: 'default' },
  spec: {
    image: 'busybox',
    nodeName: node,
    volumes: [{ name: 's', secret: { secretName: secret } }],
    envFrom: [{ configMapRef: { name: configMap } }],
  },
});
const lease = (name: string) => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name, namespace: 'kube-node-lease' },
  spec: { holderIdentity: name },
});
const objects = [
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'mine', namespace: 'default' }, stringData: { k: 'v1' } },
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'theirs', namespace: 'default' }, stringData: { k: 'v2' } },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'mine-cm', namespace: 'default' }, data: { k: 'v' } },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'theirs-cm', namespace: 'default' }, data: { k: 'v' } },
  container('c1', 'n1', 'mine', 'mine-cm'),
  container('c2', 'n2', 'theirs', 'theirs-cm'),
  { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n2' } },
  lease('n2'),
];
const setUp = await server.kubectl(['apply', '-f', '-'], {
  input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
});
if (setUp.code !== 0) throw new Error(setUp.stderr);

t.test('a node reads what its Containers use, and nothing else', async (t) => {
  // The graph follows the watch cache: the first answer may come a moment after the Containers were written.
  await eventually(async () => (await asNode(['get', 'secret', 'mine', '-o', 'name'])).code === 0, 10_000);
  t.equal((await asNode(['get', 'configmap', 'mine-cm', '-o', 'name'])).stdout.trim(), 'configmap/mine-cm');
  const theirs = await asNode(['get', 'secret', 'theirs']);
  t.not(theirs.code, 0);
  t.match(
    theirs.stderr,
    `Error from server (Forbidden): secrets "theirs" is forbidden: User "system:node:n1" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node 'n1' and this object`,
  );
  t.match((await asNode(['get', 'configmap', 'theirs-cm'])).stderr, /no relationship found between node 'n1'/);
  const list = await asNode(['get', 'secrets']);
  t.not(list.code, 0);
  t.match(list.stderr, /cannot list resource "secrets"/);
  // Unbinding is impossible, but deleting the Container takes the right away.
  t.equal((await server.kubectl(['delete', 'container', 'c1', '--wait=false'])).code, 0);
  await eventually(async () => (await asNode(['get', 'secret', 'mine'])).code !== 0, 10_000);
  t.equal(
    (await server.kubectl(['apply', '-f', '-'], { input: JSON.stringify(container('c1', 'n1', 'mine', 'mine-cm')) }))
      .code,
    0,
  );
});

t.test("a node reads the uploaded context of an Image build bound to it, not another node's", async (t) => {
  const build = (name: string, node: string, context: string) => ({
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Image',
    metadata: { name, namespace: 'default' },
    spec: { image: `127.0.0.1:5000/demo/${name}:1`, build: { nodeName: node, contextConfigMap: { name: context } } },
  });
  const contexts = ['n1-context', 'n2-context'].map((name) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'default' },
    data: { k: 'v' },
  }));
  const made = await server.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [...contexts, build('b1', 'n1', 'n1-context'), build('b2', 'n2', 'n2-context')],
    }),
  });
  t.equal(made.code, 0, made.stderr);
  t.ok(
    await eventually(async () => (await asNode(['get', 'configmap', 'n1-context', '-o', 'name'])).code === 0, 10_000),
    'the build bound to n1 opens its context to n1',
  );
  t.match((await asNode(['get', 'configmap', 'n2-context'])).stderr, /no relationship found between node 'n1'/);
});

t.test('a node reads the pull Secrets of Images it may pull or build, not those pinned to another node', async (t) => {
  const image = (name: string, spec: Record<string, unknown>, secret: string) => ({
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Image',
    metadata: { name, namespace: 'default' },
    spec: { image: `127.0.0.1:5000/demo/${name}:1`, imagePullSecrets: [{ name: secret }], ...spec },
  });
  const secrets = ['build-n1', 'pull-anywhere', 'pull-n2'].map((name) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: 'default' },
    type: 'kubernetes.io/dockerconfigjson',
    stringData: { '.dockerconfigjson': '{"auths":{}}' },
  }));
  const made = await server.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        ...secrets,
        image('built-on-n1', { build: { nodeName: 'n1', context: '/tmp' } }, 'build-n1'),
        image('pulled-anywhere', { nodeSelector: {} }, 'pull-anywhere'),
        image('pulled-on-n2', { nodeSelector: { 'kubernetes.io/hostname': 'n2' } }, 'pull-n2'),
      ],
    }),
  });
  t.equal(made.code, 0, made.stderr);
  t.ok(
    await eventually(async () => (await asNode(['get', 'secret', 'build-n1', '-o', 'name'])).code === 0, 10_000),
    'a build bound to n1 (its base pulls and its push) opens its pull Secret to n1',
  );
  t.equal((await asNode(['get', 'secret', 'pull-anywhere', '-o', 'name'])).code, 0, 'an Image any node may pull');
  t.match((await asNode(['get', 'secret', 'pull-n2'])).stderr, /no relationship found between node 'n1'/);
});

t.test("a node reads an Image's pull Secret only once the Image is bound to it", async (t) => {
  const secretNames = ['gpu-pull', 'unbound-build', 'commit-n1', 'commit-n2', 'tag-of-n1'];
  const image = (name: string, spec: Record<string, unknown>, secret: string) => ({
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Image',
    metadata: { name, namespace: 'default' },
    spec: { image: `127.0.0.1:5000/demo/${name}:1`, imagePullSecrets: [{ name: secret }], ...spec },
  });
  const made = await server.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        ...secretNames.map((name) => ({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name, namespace: 'default' },
          type: 'kubernetes.io/dockerconfigjson',
          stringData: { '.dockerconfigjson': '{"auths":{}}' },
        })),
        image('gpu-pull', { nodeSelector: { 'node-restriction.kubernetes.io/pool': 'gpu' } }, 'gpu-pull'),
        image('unbound-build', { build: { context: '/tmp' } }, 'unbound-build'),
        image('commit-n1', { from: { container: 'c1' } }, 'commit-n1'),
        image('commit-n2', { from: { container: 'c2' } }, 'commit-n2'),
        image('tag-of-n1', { from: { image: '127.0.0.1:5000/demo/built-on-n1:1' } }, 'tag-of-n1'),
      ],
    }),
  });
  t.equal(made.code, 0, made.stderr);
  const get = (name: string) => asNode(['get', 'secret', name, '-o', 'name']);
  // Bound through what nodes cannot write: a commit's Container, a tag's source (a build bound to n1).
  t.ok(await eventually(async () => (await get('commit-n1')).code === 0, 10_000), 'a commit of a Container on n1');
  t.equal((await get('tag-of-n1')).code, 0, 'a tag of an image built on n1');
  t.match((await get('commit-n2')).stderr, /no relationship found between node 'n1'/);

  // A pull no node's labels select yet: 403, and the node cannot give itself the admin's label.
  const refused = await get('gpu-pull');
  t.match(refused.stderr, /Error from server \(Forbidden\): secrets "gpu-pull" is forbidden: .*no relationship found/);
  const node = (labels: Record<string, string>) =>
    JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels } });
  t.match(
    (await asNode(['create', '-f', '-'], node({ 'node-restriction.kubernetes.io/pool': 'gpu' }))).stderr,
    /nodes "n1" is forbidden: is not allowed to modify labels: node-restriction.kubernetes.io\/pool/,
  );
  t.equal((await asNode(['create', '-f', '-'], node({}))).code, 0, 'its own Node without the label');
  t.equal((await server.kubectl(['label', 'node', 'n1', 'node-restriction.kubernetes.io/pool=gpu'])).code, 0);
  t.ok(await eventually(async () => (await get('gpu-pull')).code === 0, 10_000), '200 once the admin labels n1');
  t.equal((await server.kubectl(['label', 'node', 'n1', 'node-restriction.kubernetes.io/pool-'])).code, 0);
  t.ok(await eventually(async () => (await get('gpu-pull')).code !== 0, 10_000), '403 again once the label goes');

  // A build no node is bound to: 403; the node cannot bind it to itself, by spec or status; the controller can.
  t.match((await get('unbound-build')).stderr, /no relationship found between node 'n1'/);
  const bind = (as: (args: string[]) => ReturnType<typeof asNode>, subresource: string[], patch: object) =>
    as(['patch', 'image', 'unbound-build', ...subresource, '--type=merge', '-p', JSON.stringify(patch)]);
  const bySpec = await bind(asNode, [], { spec: { build: { nodeName: 'n1' } } });
  t.match(bySpec.stderr, /cannot patch resource "images" in API group "berth.dev"/);
  const byStatus = await bind(asNode, ['--subresource=status'], { status: { nodeName: 'n1' } });
  t.match(
    byStatus.stderr,
    /images.berth.dev "unbound-build" is forbidden: node "n1" can not bind an image to node "n1"/,
  );
  t.match((await get('unbound-build')).stderr, /no relationship found/);
  const bound = await bind((args: string[]) => server.kubectl(args), ['--subresource=status'], {
    status: { nodeName: 'n1' },
  });
  t.equal(bound.code, 0, bound.stderr);
  t.ok(await eventually(async () => (await get('unbound-build')).code === 0, 10_000), '200 once bound to n1');
});

t.test("a node writes its own Node, Lease and Containers' status, not another's", async (t) => {
  const own = await asNode(
    ['apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } }),
  );
  t.equal(own.code, 0, own.stderr);
  const other = await asNode(['label', 'node', 'n2', 'stolen=yes']);
  t.not(other.code, 0);
  t.match(other.stderr, /nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"/);

  t.equal((await asNode(['apply', '-f', '-'], JSON.stringify(lease('n1')))).code, 0);
  const otherLease = await asNode(['annotate', 'lease', '-n', 'kube-node-lease', 'n2', 'x=y']);
  t.match(otherLease.stderr, /node "n1" can only access node lease with the same name as the requesting node/);

  const status = (name: string) =>
    asNode([
      'patch',
      'container',
      name,
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"phase":"Running"}}',
    ]);
  await eventually(async () => (await status('c1')).code === 0, 10_000);
  const theirs = await status('c2');
  t.not(theirs.code, 0);
  t.match(
    theirs.stderr,
    /containers.berth.dev "c2" is forbidden: node "n1" can only update containers with spec.nodeName set to itself/,
  );
  const phase = await server.kubectl(['get', 'container', 'c2', '-o', 'jsonpath={.status.phase}']);
  t.not(phase.stdout, 'Running');
});

t.test('access reviews answer as the request would be decided: through the node authorizer too', async (t) => {
  const canI = (what: string) =>
    server.kubectl(['auth', 'can-i', 'get', what, '--as=system:node:n1', '--as-group=system:nodes']);
  await eventually(async () => (await canI('secret/mine')).stdout.trim() === 'yes', 10_000);
  const theirs = await canI('secret/theirs');
  // RBAC's system:node role alone would say yes.
  t.equal(theirs.stdout.trim(), "no - no relationship found between node 'n1' and this object");
  const review = await server.kubectl(['create', '-o', 'json', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: 'system:node:n1',
        groups: ['system:nodes'],
        resourceAttributes: { verb: 'list', resource: 'secrets', namespace: 'default' },
      },
    }),
  });
  t.equal(review.code, 0, review.stderr);
  t.match(JSON.parse(review.stdout), {
    status: { allowed: false, reason: "node 'n1' cannot list secrets, only get one its Containers use" },
  });
  t.equal((await canI('configmap/mine-cm')).stdout.trim(), 'yes');
  const rules = await request(server, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', {
    body: JSON.stringify({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectRulesReview',
      spec: { namespace: 'default' },
    }),
    contentType: 'application/json',
    headers: { 'Impersonate-User': 'system:node:n1', 'Impersonate-Group': 'system:nodes' },
  });
  t.match(rules.json(), {
    status: { incomplete: true, evaluationError: 'node authorizer does not support user rule resolution' },
  });
});

interface Rule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
}
const rulesOf = async (role: string): Promise<Rule[]> => {
  const r = await server.kubectl(['get', 'clusterrole', role, '-o', 'json']);
  return (JSON.parse(r.stdout) as { rules?: Rule[] }).rules ?? [];
};
const grants = (rules: Rule[], verb: string, group: string, resource: string) =>
  rules.some((r) => r.verbs.includes(verb) && r.apiGroups?.includes(group) && r.resources?.includes(resource));

t.test('view, edit and admin show the rules they aggregate', async (t) => {
  const yaml = await server.kubectl(['get', 'clusterrole', 'view', '-o', 'yaml']);
  t.match(yaml.stdout, /aggregationRule:/);
  t.match(yaml.stdout, /- containers/);
  const view = await rulesOf('view');
  t.ok(grants(view, 'list', 'berth.dev', 'containers'), 'view lists containers');
  t.notOk(grants(view, 'get', '', 'secrets'), 'view does not read secrets');
  const edit = await rulesOf('edit');
  t.ok(grants(edit, 'delete', 'berth.dev', 'containers'), 'edit deletes containers');
  t.ok(grants(edit, 'list', 'berth.dev', 'containers'), 'edit has view');
  const admin = await rulesOf('admin');
  t.ok(grants(admin, 'create', 'rbac.authorization.k8s.io', 'rolebindings'), 'admin binds roles');
  t.ok(grants(admin, 'delete', 'berth.dev', 'containers'), 'admin has edit');
  t.ok(grants(admin, 'list', 'berth.dev', 'containers'), 'admin has view');
});

t.test('a ClusterRole labelled aggregate-to-view joins view, and edit and admin through it', async (t) => {
  const widgets = JSON.stringify({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'widgets-view', labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } },
    rules: [{ apiGroups: ['example.com'], resources: ['widgets'], verbs: ['get', 'list'] }],
  });
  t.equal((await server.kubectl(['apply', '-f', '-'], { input: widgets })).code, 0);
  for (const role of ['view', 'edit', 'admin'])
    await eventually(async () => grants(await rulesOf(role), 'list', 'example.com', 'widgets'), 10_000);
  t.pass('view, edit and admin list widgets');
  t.equal((await server.kubectl(['delete', 'clusterrole', 'widgets-view'])).code, 0);
  await eventually(async () => !grants(await rulesOf('admin'), 'list', 'example.com', 'widgets'), 10_000);
  t.notOk(grants(await rulesOf('view'), 'list', 'example.com', 'widgets'));
});
