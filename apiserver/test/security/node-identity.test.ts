// A node's credential as Kubernetes' Node authorizer and NodeRestriction bound it: it reads the Secrets and
// ConfigMaps of Containers bound to it and no others (no list, no watch), writes its own Node and Lease and the
// status of its own Containers, and is refused another node's in Kubernetes' words.
import t from 'tap';
import { eventually, startTestServer } from '@berth/testkit';

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
