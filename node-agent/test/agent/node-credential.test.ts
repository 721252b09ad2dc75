// A node agent running under its own node credential (`system:node:<name>` in `system:nodes`, as berth up gives
// it), with the Node authorizer and NodeRestriction on: it registers its Node, runs a Container the scheduler bound
// to it and reads the Secret and ConfigMap that Container names (the only ones it may read), and reports it
// Succeeded. Needs root.
import t from 'tap';
import { eventually, pushBusybox, startRegistry, startTestAgent, startTestServer } from '@berth/testkit';

const registry = await startRegistry(t);
await pushBusybox(t, registry.address);
const server = await startTestServer({ controllers: ['scheduler'] });
t.teardown(() => server.close());
const nodeName = `cred-${Date.now().toString(36)}`;
const nodeKubeconfig = await server.userKubeconfig(`system:node:${nodeName}`, { groups: ['system:nodes'] });
await startTestAgent(t, server, { kubeconfig: nodeKubeconfig, nodeName, adoptUnbound: false });

t.test('the Container bound to the node reads its Secret and ConfigMap', async (t) => {
  const objects = [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db', namespace: 'default' },
      stringData: { password: 's3cret' },
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app', namespace: 'default' }, data: { mode: 'prod' } },
    {
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Container',
      metadata: { name: 'reader', namespace: 'default' },
      spec: {
        image: `${registry.address}/library/busybox:latest`,
        command: ['sh', '-c', 'test "$(cat /s/password)" = s3cret && test "$MODE" = prod'],
        restartPolicy: 'Never',
        env: [{ name: 'MODE', valueFrom: { configMapKeyRef: { name: 'app', key: 'mode' } } }],
        volumes: [{ name: 's', secret: { secretName: 'db' } }],
        volumeMounts: [{ name: 's', mountPath: '/s' }],
      },
    },
  ];
  const applied = await server.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
  });
  t.equal(applied.code, 0, applied.stderr);
  let phase = '';
  await eventually(async () => {
    phase = (await server.kubectl(['get', 'ctr', 'reader', '-o', 'jsonpath={.status.phase}'])).stdout;
    return phase === 'Succeeded' || phase === 'Failed';
  }, 90_000);
  const status = await server.kubectl(['get', 'ctr', 'reader', '-o', 'jsonpath={.spec.nodeName} {.status.message}']);
  t.equal(phase, 'Succeeded', status.stdout);
  t.match(status.stdout, new RegExp(`^${nodeName}`));
});
