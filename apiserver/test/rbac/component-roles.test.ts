// The roles berth's own components run with (berth up gives each its own client certificate): a node agent
// (`system:node:<name>` in `system:nodes`) may register Nodes, heartbeat Leases and run and report Containers, but
// not delete them or touch RBAC; the controller manager (`system:kube-controller-manager`) may empty namespaces
// of anything, but not grant itself more.

import t from 'tap';
import { startTestServer, type TestServer } from '@berth/testkit';

let ts: TestServer;
let node: string;
let controllerManager: string;
t.before(async () => {
  ts = await startTestServer({ controllers: false });
  node = await ts.userKubeconfig('system:node:n1', { groups: ['system:nodes'] });
  controllerManager = await ts.userKubeconfig('system:kube-controller-manager');
});
t.teardown(() => ts.close());

// `yes` or `no` (kubectl prints the authorizer's reason after a "no -").
const canI = async (kubeconfig: string, args: string[]) =>
  (await ts.kubectl(['auth', 'can-i', ...args], { env: { KUBECONFIG: kubeconfig } })).stdout.trim().split(' ')[0];

t.test('a node agent may do its work and nothing else', async (t) => {
  const may = [
    ['create', 'nodes'],
    ['patch', 'nodes/status'],
    ['update', 'leases.coordination.k8s.io', '-n', 'kube-node-lease'],
    ['watch', 'containers.berth.dev', '-A'],
    ['patch', 'containers.berth.dev/status'],
    ['patch', 'volumes.berth.dev/status'],
    ['create', 'events'],
  ];
  for (const q of may) t.equal(await canI(node, q), 'yes', q.join(' '));
  const mayNot = [
    ['delete', 'containers.berth.dev'],
    ['create', 'containers.berth.dev'],
    ['create', 'clusterrolebindings.rbac.authorization.k8s.io'],
    ['delete', 'namespaces'],
    ['create', 'serviceaccounts/token'],
    // Only a named Secret a Container bound to the node uses, through the node authorizer, as in Kubernetes (access
    // reviews ask the same authorizers as requests): not Secrets in general.
    ['get', 'secrets'],
  ];
  for (const q of mayNot) t.equal(await canI(node, q), 'no', q.join(' '));
});

t.test('the controller manager may empty namespaces, not grant itself more', async (t) => {
  const may = [
    ['deletecollection', 'configmaps'],
    ['delete', 'containers.berth.dev'],
    ['update', 'namespaces/finalize'],
    ['create', 'leases.coordination.k8s.io', '-n', 'kube-system'],
    ['list', '*.*', '-A'],
  ];
  for (const q of may) t.equal(await canI(controllerManager, q), 'yes', q.join(' '));
  const mayNot = [
    ['create', 'clusterrolebindings.rbac.authorization.k8s.io'],
    ['escalate', 'clusterroles.rbac.authorization.k8s.io'],
    ['create', 'customresourcedefinitions.apiextensions.k8s.io'],
  ];
  for (const q of mayNot) t.equal(await canI(controllerManager, q), 'no', q.join(' '));
});
