// Pod Security admission as a user meets it: in a namespace without labels a privileged Container (or one on the
// host network, adding SYS_ADMIN, mounting a host path outside the allowed ones, or unconfined by seccomp) is a 403
// worded as Kubernetes words it (for a Pod, as `pods "x" is forbidden`, naming the Pod's container);
// `pod-security.kubernetes.io/enforce` lets a namespace allow more or less, `warn` adds warnings, a Service's
// template is warned about, and a label naming no level is refused. hostUsers: false passes every level.
import t from 'tap';
import { request, startTestServer } from '@berth/testkit';

const server = await startTestServer({ controllers: false, podSecurity: { allowedHostPaths: ['/srv/shared'] } });
t.teardown(() => server.close());

const container = (name: string, spec: Record<string, unknown> = {}, namespace = 'default') =>
  JSON.stringify({
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: { name, namespace },
    spec: { image: 'busybox', command: ['sleep', '1'], ...spec },
  });
const create = (name: string, spec: Record<string, unknown> = {}, namespace = 'default') =>
  request(server, 'POST', `/apis/berth.dev/v1alpha1/namespaces/${namespace}/containers`, {
    body: container(name, spec, namespace),
    contentType: 'application/json',
  });
const namespace = (name: string, labels: Record<string, string>) =>
  request(server, 'POST', '/api/v1/namespaces', {
    body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } }),
    contentType: 'application/json',
  });

t.test('kubectl is refused a privileged Container in the default namespace, in Pod Security words', async (t) => {
  const r = await server.kubectl(['apply', '-f', '-'], {
    input: container('priv', { securityContext: { privileged: true } }),
  });
  t.not(r.code, 0);
  t.match(
    r.stderr,
    'Error from server (Forbidden): error when creating "STDIN": containers.berth.dev "priv" is forbidden: violates PodSecurity "baseline:latest": privileged (container "priv" must not set securityContext.privileged=true)',
  );
  t.equal((await request(server, 'GET', '/apis/berth.dev/v1alpha1/namespaces/default/containers/priv')).status, 404);
});

t.test('a Pod is refused in the words Kubernetes uses for Pods', async (t) => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'priv-pod', namespace: 'default' },
    spec: { containers: [{ name: 'inner', image: 'busybox', securityContext: { privileged: true } }] },
  };
  const r = await server.kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod) });
  t.not(r.code, 0);
  t.match(
    r.stderr,
    'Error from server (Forbidden): error when creating "STDIN": pods "priv-pod" is forbidden: violates PodSecurity "baseline:latest": privileged (container "inner" must not set securityContext.privileged=true)',
  );
  const raw = await request(server, 'POST', '/api/v1/namespaces/default/pods', {
    body: JSON.stringify(pod),
    contentType: 'application/json',
  });
  t.match(raw.json(), { code: 403, details: { name: 'priv-pod', group: '', kind: 'pods' } });
});

t.test('each escape is a 403 Status naming it; what Docker allows by default passes', async (t) => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['hostnet', { networkMode: 'host' }, /host namespaces \(hostNetwork=true\)/],
    [
      'sysadmin',
      { securityContext: { capabilities: { add: ['NET_BIND_SERVICE', 'SYS_ADMIN', 'CAP_SYS_MODULE'] } } },
      /non-default capabilities \(container "sysadmin" must not include "SYS_ADMIN", "SYS_MODULE" in securityContext.capabilities.add\)/,
    ],
    ['etc', { volumes: [{ name: 'etc', hostPath: { path: '/etc' } }] }, /hostPath volumes \(volume "etc"\)/],
    [
      'sneaky',
      { volumes: [{ name: 'up', hostPath: { path: '/srv/shared/../../etc' } }] },
      /hostPath volumes \(volume "up"\)/,
    ],
    [
      'unconfined',
      { securityContext: { seccompProfile: { type: 'Unconfined' } } },
      /seccompProfile \(container "unconfined" must not set securityContext.seccompProfile.type to "Unconfined"\)/,
    ],
  ];
  for (const [name, spec, message] of cases) {
    const r = await create(name, spec);
    t.equal(r.status, 403, name);
    t.match(r.json(), {
      kind: 'Status',
      reason: 'Forbidden',
      code: 403,
      message,
      details: { name, kind: 'containers' },
    });
  }
  const both = await create('both', { networkMode: 'host', securityContext: { privileged: true } });
  t.match(both.json<{ message: string }>().message, /host namespaces \(hostNetwork=true\), privileged \(container/);
  const fine = await create('fine', {
    securityContext: {
      capabilities: { add: ['NET_BIND_SERVICE', 'CHOWN'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumes: [{ name: 'shared', hostPath: { path: '/srv/shared/app' } }],
  });
  t.equal(fine.status, 201, fine.text);
});

t.test('a namespace labelled privileged allows it; restricted asks for more', async (t) => {
  t.equal((await namespace('lab', { 'pod-security.kubernetes.io/enforce': 'privileged' })).status, 201);
  t.equal((await create('priv', { securityContext: { privileged: true }, networkMode: 'host' }, 'lab')).status, 201);

  t.equal((await namespace('tight', { 'pod-security.kubernetes.io/enforce': 'restricted' })).status, 201);
  const plain = await create('plain', {}, 'tight');
  t.equal(plain.status, 403);
  t.match(
    plain.json<{ message: string }>().message,
    /violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false .*unrestricted capabilities .*runAsNonRoot != true .*seccompProfile/,
  );
  const hardened = await create(
    'hardened',
    {
      securityContext: {
        allowPrivilegeEscalation: false,
        runAsNonRoot: true,
        runAsUser: 1000,
        capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
        seccompProfile: { type: 'RuntimeDefault' },
      },
    },
    'tight',
  );
  t.equal(hardened.status, 201, hardened.text);
});

t.test('warn adds a Warning kubectl prints; updates that keep the spec pass', async (t) => {
  t.equal((await namespace('warned', { 'pod-security.kubernetes.io/warn': 'restricted' })).status, 201);
  const r = await server.kubectl(['apply', '-f', '-'], { input: container('w', {}, 'warned') });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
  // A Container made while the namespace allowed it may still be relabelled once the namespace tightens.
  const relabel = await server.kubectl([
    'label',
    'namespace',
    'lab',
    'pod-security.kubernetes.io/enforce=baseline',
    '--overwrite',
  ]);
  t.equal(relabel.code, 0, relabel.stderr);
  const label = await server.kubectl(['label', '-n', 'lab', 'containers/priv', 'tier=old']);
  t.equal(label.code, 0, label.stderr);
  const change = await server.kubectl([
    'patch',
    '-n',
    'lab',
    'containers/priv',
    '--type=merge',
    '-p',
    '{"spec":{"command":["true"]}}',
  ]);
  t.not(change.code, 0);
  t.match(change.stderr, /violates PodSecurity "baseline:latest": host namespaces/);
});

t.test('a Service whose template would be refused is accepted with a warning', async (t) => {
  const service = JSON.stringify({
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Service',
    metadata: { name: 'svc', namespace: 'default' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'svc' } },
      template: {
        metadata: { labels: { app: 'svc' } },
        spec: { image: 'busybox', securityContext: { privileged: true } },
      },
    },
  });
  const r = await server.kubectl(['apply', '-f', '-'], { input: service });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /Warning: would violate PodSecurity "baseline:latest": privileged \(container "svc"/);
});

t.test('a pod-security label that names no level is refused', async (t) => {
  const r = await namespace('typo', { 'pod-security.kubernetes.io/enforce': 'lenient' });
  t.equal(r.status, 422);
  t.match(
    r.json<{ message: string }>().message,
    /metadata.labels\[pod-security.kubernetes.io\/enforce\]: Unsupported value: "lenient"/,
  );
});

t.test(
  'hostUsers: false passes every level, lets restricted run root, and may not share the host network',
  async (t) => {
    t.equal((await create('own-users', { hostUsers: false })).status, 201, 'baseline allows it');
    t.equal((await namespace('tight-users', { 'pod-security.kubernetes.io/enforce': 'restricted' })).status, 201);
    const hardened = {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    };
    const root = await create(
      'root-own-users',
      { hostUsers: false, securityContext: { ...hardened, runAsUser: 0 } },
      'tight-users',
    );
    t.equal(root.status, 201, 'root in a user namespace of its own is no root of the node');
    const hostRoot = await create('root-host-users', { securityContext: { ...hardened, runAsUser: 0 } }, 'tight-users');
    t.equal(hostRoot.status, 403);
    t.match(hostRoot.json<{ message: string }>().message, /runAsNonRoot != true .*runAsUser=0/);
    const hostNet = await create('own-users-host-net', { hostUsers: false, networkMode: 'host' }, 'tight-users');
    t.equal(hostNet.status, 422);
    t.match(hostNet.json<{ message: string }>().message, /hostUsers may be false only when networkMode is not host/);
    // A Pod says it as Kubernetes does, and reads back so.
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'own-users-pod', namespace: 'default' },
      spec: { hostUsers: false, containers: [{ name: 'own-users-pod', image: 'busybox' }] },
    };
    t.equal((await server.kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod) })).code, 0);
    const c = await request(server, 'GET', '/apis/berth.dev/v1alpha1/namespaces/default/containers/own-users-pod');
    t.equal(c.json<{ spec: { hostUsers?: boolean } }>().spec.hostUsers, false, 'the Container it became');
    const got = await server.kubectl(['get', 'pod', 'own-users-pod', '-o', 'jsonpath={.spec.hostUsers}']);
    t.equal(got.stdout, 'false');
  },
);
